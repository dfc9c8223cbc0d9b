package models

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// MaxBulkInstances is how many instances one bulk action may name (a list
// page's worth).
const MaxBulkInstances = 200

// ActionDelete is the bulk action that deletes; the others are the power
// actions (PowerActions).
const ActionDelete = "delete"

// BulkOutcome is what a bulk action did to one instance: the instance as it
// is now, or why it was refused (Err: a conflicting task or state, an ID
// the caller's project has no instance of).
type BulkOutcome struct {
	ID       string
	Instance Instance
	Err      error
}

// BulkInstanceAction runs one action — a power action or ActionDelete — on
// each of the given instances of the caller's project, each as its own
// intent (PowerAction, DeleteInstance): one refusal does not undo the
// others, and each outcome says what happened. IDs are taken once each, in
// order. A failure that is not a refusal (the database) stops the batch
// and is returned with the outcomes so far.
func (s *Store) BulkInstanceAction(ctx context.Context, c Caller, action string, ids []string) ([]BulkOutcome, error) {
	if action != ActionDelete && !slices.Contains(PowerActions(), action) {
		return nil, Invalidf("action", "must be delete or one of %s", strings.Join(PowerActions(), ", "))
	}
	p := Problems{}
	switch {
	case len(ids) == 0:
		p.Add("instances", "select at least one instance")
	case len(ids) > MaxBulkInstances:
		p.Addf("instances", "at most %d at once", MaxBulkInstances)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []BulkOutcome
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		var inst Instance
		var err error
		if action == ActionDelete {
			inst, err = s.DeleteInstance(ctx, c, id)
		} else {
			inst, err = s.PowerAction(ctx, c, id, action)
		}
		if err != nil && !refusal(err) {
			return out, err
		}
		out = append(out, BulkOutcome{ID: id, Instance: inst, Err: err})
	}
	return out, nil
}

// refusal reports an error that refuses one request for a reason of its own
// (its state, its input, its absence), as opposed to a failure of Stratus.
func refusal(err error) bool {
	for _, kind := range []error{ErrConflict, ErrNotFound, ErrInvalid, ErrForbidden, ErrQuotaExceeded} {
		if errors.Is(err, kind) {
			return true
		}
	}
	return false
}
