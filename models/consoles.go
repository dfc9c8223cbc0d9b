package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// MaxConsoleLogBytes is how much of a serial console log is kept: the tail,
// as Nova's console-log keeps the last 100 KiB.
const MaxConsoleLogBytes = 64 << 10

// ConsoleTokenTTL is how long a console token may wait to be used.
const ConsoleTokenTTL = 10 * time.Minute

// InstanceConsole is what the compute agent recorded about an instance's
// consoles on its host.
type InstanceConsole struct {
	InstanceID   string     `gorm:"primaryKey"`
	Host         string     ``
	VNCHost      string     `gorm:"column:vnc_host"`
	VNCPort      int        `gorm:"column:vnc_port"`
	ConsoleLog   *string    ``
	LogUpdatedAt *time.Time ``
	UpdatedAt    time.Time  ``
}

// SetConsoleVNC records where a running instance's VNC server listens
// (port 0: it has none now, the domain is off).
func (s *Store) SetConsoleVNC(ctx context.Context, instanceID, host, vncHost string, vncPort int) error {
	row := InstanceConsole{InstanceID: instanceID, Host: host, VNCHost: vncHost, VNCPort: vncPort, UpdatedAt: s.now()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "instance_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"host", "vnc_host", "vnc_port", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("record VNC console: %w", err)
	}
	return nil
}

// SaveConsoleLog records the tail of an instance's serial console log. Bytes
// that are not UTF-8 (a guest may print anything) are replaced.
func (s *Store) SaveConsoleLog(ctx context.Context, instanceID, host string, log []byte) error {
	if len(log) > MaxConsoleLogBytes {
		log = log[len(log)-MaxConsoleLogBytes:]
	}
	text := strings.ToValidUTF8(strings.ReplaceAll(string(log), "\x00", ""), "\uFFFD")
	now := s.now()
	row := InstanceConsole{InstanceID: instanceID, Host: host, ConsoleLog: &text, LogUpdatedAt: &now, UpdatedAt: now}
	return s.tx(ctx, func(tx *gorm.DB) error {
		// The shipper read the host's instances a moment ago: one deleted
		// since keeps no console.
		var n int64
		if err := tx.Model(&Instance{}).Where("id = ? AND vm_state <> ?", instanceID, VMDeleted).Count(&n).Error; err != nil {
			return fmt.Errorf("save console log: %w", err)
		}
		if n == 0 {
			return nil
		}
		err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "instance_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"host", "console_log", "log_updated_at", "updated_at"}),
		}).Create(&row).Error
		if err != nil {
			return fmt.Errorf("save console log: %w", err)
		}
		return nil
	})
}

// DeleteConsole forgets an instance's console records (it was deleted).
func (s *Store) DeleteConsole(ctx context.Context, instanceID string) error {
	return s.db.WithContext(ctx).Where("instance_id = ?", instanceID).Delete(&InstanceConsole{}).Error
}

// ConsoleLog returns the last lines of one of the caller's instances'
// serial console (lines <= 0: all that is kept).
func (s *Store) ConsoleLog(ctx context.Context, c Caller, instanceID string, lines int) (string, error) {
	inst, err := s.GetInstance(ctx, c, instanceID)
	if err != nil {
		return "", err
	}
	var row InstanceConsole
	err = s.db.WithContext(ctx).Where("instance_id = ?", inst.ID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && row.ConsoleLog == nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read console log: %w", err)
	}
	return lastLines(*row.ConsoleLog, lines), nil
}

func lastLines(s string, n int) string {
	if n <= 0 {
		return s
	}
	end := len(s)
	if strings.HasSuffix(s, "\n") {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if s[i] == '\n' {
			n--
			if n == 0 {
				return s[i+1:]
			}
		}
	}
	return s
}

// Console token kinds.
const ConsoleNoVNC = "novnc"

// ConsoleToken is a fresh VNC console token (the secret is shown once).
type ConsoleToken struct {
	Token     string    `json:"token"`
	Type      string    `json:"type"`
	ExpiresAt time.Time `json:"expires_at"`
}

type consoleTokenRow struct {
	TokenHash  string `gorm:"primaryKey"`
	InstanceID string
	UserID     string
	ProjectID  string
	Kind       string
	ExpiresAt  time.Time
	UsedAt     *time.Time
	CreatedAt  time.Time
}

func (consoleTokenRow) TableName() string { return "console_tokens" }

// CreateConsoleToken issues a single-use token that opens the VNC console of
// one of the caller's instances for the next ConsoleTokenTTL. It is bound to
// the instance and to the caller: nobody else can use it (CVE-2013-0335 was
// a token that anyone holding it could use, for ever).
func (s *Store) CreateConsoleToken(ctx context.Context, c Caller, instanceID string) (ConsoleToken, error) {
	inst, err := s.GetInstance(ctx, c, instanceID)
	if err != nil {
		return ConsoleToken{}, err
	}
	if c.UserID == "" {
		return ConsoleToken{}, forbidden("a console is opened by a user")
	}
	if inst.VMState != VMActive || inst.PowerState != PowerRunning {
		return ConsoleToken{}, conflict("instance %q is not running: its console cannot be opened", inst.Name)
	}
	var con InstanceConsole
	err = s.db.WithContext(ctx).Where("instance_id = ? AND host = ? AND vnc_port > 0", inst.ID, inst.Host).Take(&con).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ConsoleToken{}, conflict("instance %q has no console yet: try again in a few seconds", inst.Name)
	} else if err != nil {
		return ConsoleToken{}, fmt.Errorf("read console: %w", err)
	}
	secret := randomSecret(32)
	now := s.now()
	row := consoleTokenRow{TokenHash: hashSecret(secret), InstanceID: inst.ID, UserID: c.UserID, ProjectID: inst.ProjectID,
		Kind: ConsoleNoVNC, ExpiresAt: now.Add(ConsoleTokenTTL), CreatedAt: now}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("insert console token: %w", err)
		}
		return s.recordAction(tx, c, inst, "console", ActionSuccess, "VNC console token issued")
	})
	if err != nil {
		return ConsoleToken{}, err
	}
	return ConsoleToken{Token: secret, Type: ConsoleNoVNC, ExpiresAt: row.ExpiresAt}, nil
}

// VNCTarget is where a console proxy connects for a token.
type VNCTarget struct {
	InstanceID string
	Host       string
	Port       int
}

// UseConsoleToken spends a console token for the caller and says where the
// instance's VNC server is. A token works once, before it expires, for the
// user it was issued to, while the instance still runs; every failure is
// the same ErrUnauthenticated so a prober learns nothing.
func (s *Store) UseConsoleToken(ctx context.Context, c Caller, secret string) (VNCTarget, error) {
	if secret == "" || len(secret) > 128 {
		return VNCTarget{}, ErrUnauthenticated
	}
	var row consoleTokenRow
	var t VNCTarget
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		res := tx.Model(&consoleTokenRow{}).
			Where("token_hash = ? AND used_at IS NULL AND expires_at > ? AND user_id = ?", hashSecret(secret), now, c.UserID).
			Update("used_at", now)
		if res.Error != nil {
			return fmt.Errorf("use console token: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return ErrUnauthenticated
		}
		if err := tx.Where("token_hash = ?", hashSecret(secret)).Take(&row).Error; err != nil {
			return fmt.Errorf("read console token: %w", err)
		}
		var inst Instance
		if err := tx.Where("id = ? AND project_id = ? AND vm_state = ?", row.InstanceID, row.ProjectID, VMActive).Take(&inst).Error; err != nil {
			return ErrUnauthenticated
		}
		var con InstanceConsole
		if err := tx.Where("instance_id = ? AND host = ? AND vnc_port > 0", inst.ID, inst.Host).Take(&con).Error; err != nil {
			return ErrUnauthenticated
		}
		t = VNCTarget{InstanceID: inst.ID, Host: con.VNCHost, Port: con.VNCPort}
		return nil
	})
	return t, err
}

// PruneConsoleTokens deletes tokens that expired more than an hour ago.
func (s *Store) PruneConsoleTokens(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at < ?", s.now().Add(-time.Hour)).Delete(&consoleTokenRow{})
	return res.RowsAffected, res.Error
}
