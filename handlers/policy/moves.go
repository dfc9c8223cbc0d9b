package policy

import (
	"slices"

	"stratus/models"
)

// MoveRule is the rule of its own that starting a move action needs besides
// its route's: resize's (members), or an operator move's (migrate,
// live_migrate, evacuate; the model checks that the caller is an operator
// again). Confirming or reverting a resize needs none: "".
func MoveRule(action string) string {
	switch {
	case action == models.ActionResize:
		return "compute:instance:resize"
	case slices.Contains(models.OperatorMoveActions(), action):
		return "compute:instance:" + action
	}
	return ""
}

// AllowedMove reports whether the caller (nil when not logged in) may start
// the move action as far as its own rule (MoveRule) goes.
func (e *Enforcer) AllowedMove(c *models.Caller, action string) bool {
	rule := MoveRule(action)
	return rule == "" || e.Allowed(c, rule)
}
