// Package pages holds one templ component per page of the web UI, each with
// its own props struct, and the fragments htmx asks for (a table's results,
// a token's row, the live jobs panel) served by the same components.
package pages

import (
	"time"

	"stratus/models"
	"stratus/views/ui"
)

// LoginProps is the login form.
type LoginProps struct {
	Username string
	Next     string // local path to return to after login
	Error    string // the one message for every refusal
	Notice   string // e.g. "You have signed out."
	Fields   map[string]string
}

// OverviewProps is the project overview (the home page).
type OverviewProps struct {
	User        models.User
	Caller      models.Caller
	Project     *models.Project // the current project; nil without one
	Memberships []models.ProjectMembership
	CanTokens   bool // the API tokens page is open to the caller
	CanAdmin    bool // the admin pages are open to the caller
	// Quotas are the current project's quota use (nil when the caller may
	// not read it); Chart is the same as JSON for the chart script, and
	// ChartLib the chart library's URL, loaded only on this page.
	Quotas   []QuotaMeter
	Chart    string
	ChartLib string
}

// TokensProps is the API tokens page.
type TokensProps struct {
	Rows        []TokenRow
	Form        ui.Form
	Created     *CreatedToken // the token just made, with its secret: shown once
	ProjectName string        // the project new tokens are scoped to
	MaxDays     int
}

// TokenRow is one API token in the list.
type TokenRow struct {
	Token       models.Token
	ProjectName string
	Status      TokenStatus
	CSRF        string
}

// TokenStatus is what a token can still do.
type TokenStatus string

const (
	TokenActive  TokenStatus = "active"
	TokenExpired TokenStatus = "expired"
	TokenRevoked TokenStatus = "revoked"
)

// CreatedToken is a token just created, with the secret the user must copy.
type CreatedToken struct {
	ID          string
	Name        string
	Secret      string
	ProjectName string
	ExpiresAt   time.Time
}

// ProjectsProps is the admin list of projects.
type ProjectsProps struct {
	Items  []models.Project
	Filter string
	Pager  ui.PagerLinks
}

// ProjectNewProps is the form that creates a project.
type ProjectNewProps struct {
	Form ui.Form
}

// ProjectDetailProps is one project as an operator sees it.
type ProjectDetailProps struct {
	Project    models.Project
	Members    []models.RoleAssignmentView
	MemberForm ui.Form
	UserNames  []string // suggestions for the add-member form
	IsCurrent  bool     // the operator is working in this project
	// Quotas are the project's limits and use (nil when the caller may
	// not read them); QuotaForm holds the edit form's input and errors.
	Quotas      []models.QuotaLine
	QuotaForm   ui.Form
	CanSetQuota bool
}

// UsersProps is the admin list of users.
type UsersProps struct {
	Rows   []UserRow
	Filter string
	Pager  ui.PagerLinks
}

// UserRow is one user in the list.
type UserRow struct {
	User   models.User
	Locked bool
}

// UserNewProps is the form that creates a user.
type UserNewProps struct {
	Form         ui.Form
	ProjectNames []string
}

// UserDetailProps is one user as an operator sees it.
type UserDetailProps struct {
	User         models.User
	Locked       bool
	IsSelf       bool
	Assignments  []models.RoleAssignmentView
	RoleForm     ui.Form
	PasswordForm ui.Form
	ProjectNames []string
}

// AuditProps is the audit log.
type AuditProps struct {
	Events  []models.AuditEvent
	Action  string
	Actor   string
	Outcome string
	Actions []string
	Pager   ui.PagerLinks
}

// JobsProps is the queue view.
type JobsProps struct {
	Counts  []JobCount
	Jobs    []models.Job
	State   string
	Pager   ui.PagerLinks
	PollURL string // what the live panel re-fetches
	Here    string // the page's own URI, where retry/cancel return
	CSRF    string
}

// JobCount is one state's figure, linking to the jobs in that state.
type JobCount struct {
	State  models.JobState
	N      int64
	Href   string
	Active bool
}

// ErrorProps is a refusal or failure page.
type ErrorProps struct {
	Status    int
	Title     string
	Message   string
	RequestID string
}

// RoleOptions are the roles a form may pick from, weakest first.
func RoleOptions() []ui.Option {
	out := make([]ui.Option, 0, len(models.Roles))
	for _, r := range models.Roles {
		out = append(out, ui.Option{Value: string(r), Label: string(r)})
	}
	return out
}

// JobTone colours a job state.
func JobTone(st models.JobState) ui.Tone {
	switch st {
	case models.JobAvailable:
		return ui.Blue
	case models.JobRunning:
		return ui.Indigo
	case models.JobSucceeded:
		return ui.Green
	case models.JobFailed:
		return ui.Red
	}
	return ui.Gray
}

// RoleTone colours a role.
func RoleTone(r models.Role) ui.Tone {
	switch r {
	case models.RoleAdmin:
		return ui.Amber
	case models.RoleMember:
		return ui.Indigo
	}
	return ui.Gray
}
