package models

import "fmt"

// Role is a Keystone-style role. Roles nest: admin implies member implies
// reader.
type Role string

const (
	RoleReader Role = "reader"
	RoleMember Role = "member"
	RoleAdmin  Role = "admin"
)

// Roles lists the roles from weakest to strongest.
var Roles = []Role{RoleReader, RoleMember, RoleAdmin}

func (r Role) rank() int {
	switch r {
	case RoleReader:
		return 1
	case RoleMember:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// AtLeast reports whether r includes min (an empty role includes nothing).
func (r Role) AtLeast(min Role) bool { return r.rank() > 0 && r.rank() >= min.rank() }

// Max returns the stronger of two roles.
func (r Role) Max(o Role) Role {
	if o.rank() > r.rank() {
		return o
	}
	return r
}

// ParseRole accepts "reader", "member" or "admin".
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if r.rank() == 0 {
		return "", fmt.Errorf("role must be reader, member or admin")
	}
	return r, nil
}

// Caller is who is acting, in which project, with which roles, and from
// where. Adapters resolve it from a web session or a bearer token on every
// request (roles are read fresh, never trusted from the token), and pass it
// to every intent: queries on tenant data are scoped by Caller.ProjectID.
type Caller struct {
	UserID      string
	UserName    string
	ProjectID   string // "" when the caller has no project (unscoped)
	ProjectName string
	ProjectRole Role // strongest role on ProjectID; "" when none
	SystemRole  Role // strongest system-scope role; "" when none
	TokenID     string
	Locale      string // the user's chosen language ("" follows the browser)

	RemoteAddr string // for the audit log
	RequestID  string
}

// IsSystemAdmin reports whether the caller is an operator.
func (c Caller) IsSystemAdmin() bool { return c.SystemRole.AtLeast(RoleAdmin) }
