package pages

import "stratus/models"

// MoveProps is what the instance page shows of moves: the resize form
// (members), the confirm/revert banner of a finished resize or migration,
// a running migration's progress, and the operators' migrate, live migrate
// and evacuate forms — each only when the instance's state allows it.
type MoveProps struct {
	Resize  bool            // the resize form
	Flavors []models.Flavor // flavors to resize to (not the current one)
	Verify  bool            // VERIFY_RESIZE: confirm or revert
	// Migration is the instance's latest move (nil when it never moved).
	Migration *models.InstanceMigration
	// Operator forms.
	Migrate, LiveMigrate, Evacuate bool
	Hosts                          []string // other hosts a move may name
}

// Progress is how much of a running migration is done, in percent of
// what it has to copy (memory and disks), for the progress bar.
func (p MoveProps) Progress() (percent int, ok bool) {
	m := p.Migration
	if m == nil || !m.Open() {
		return 0, false
	}
	total := m.MemoryTotalBytes + m.DiskTotalBytes
	if total == 0 {
		return 0, false
	}
	done := total - m.MemoryRemainingBytes - m.DiskRemainingBytes
	return int(done * 100 / total), true
}
