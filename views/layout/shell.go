// Package layout is the frame every Stratus page sits in: the header with
// the project picker and user menu, the sidebar navigation, flash messages,
// and the bare frame of the login page.
package layout

import "stratus/models"

// Shell is what the frame needs to know about the request. Handlers build it
// once per page; views never look anything up themselves.
type Shell struct {
	Title     string
	Caller    *models.Caller             // nil when nobody is logged in
	Projects  []models.ProjectMembership // the project picker's choices
	CSRF      string                     // the session's synchronizer token
	Path      string                     // the current request URI (the picker returns here)
	Nav       []NavSection
	Flash     Flash
	RequestID string
	Assets    Assets
}

// Assets are the cache-busting URLs of the built front-end files.
type Assets struct {
	CSS  string
	JS   string
	Htmx string
}

// Flash is a one-time message carried across a redirect.
type Flash struct {
	Message string
	Error   bool
}

// NavSection is one titled group of the sidebar.
type NavSection struct {
	Title string
	Items []NavItem
}

// NavItem is one sidebar entry: a link, a "coming soon" placeholder (Soon:
// not a link), or a sub-heading (Heading: only Label is used).
type NavItem struct {
	Key     string // stable name, used in data-testid
	Label   string
	Href    string
	Icon    string
	Active  bool
	Soon    bool
	Heading bool
}

// ProjectName is the current project's name, or "" without one.
func (s Shell) ProjectName() string {
	if s.Caller == nil {
		return ""
	}
	return s.Caller.ProjectName
}
