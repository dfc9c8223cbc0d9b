// Package layout is the frame every Stratus page sits in: the header with
// the project picker and user menu, the sidebar navigation, flash messages,
// and the bare frame of the login page.
package layout

import (
	"context"
	"encoding/json"

	"stratus/models"
	"stratus/views/i18n"
)

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
	Languages []Language // the user menu's choice of language
}

// Language is one choice of the user menu's language selector.
type Language struct {
	Tag    string // "en", "ko"
	Name   string // in itself: "English", "한국어"
	Chosen bool   // the user chose it (none chosen: the browser's)
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

// scriptTexts are the texts static/src/app.js writes into pages (copy
// buttons, the bulk bar's count, upload progress), in the request's
// language, as JSON for a <meta> (no inline script); {name} marks a value
// the script fills in.
func scriptTexts(ctx context.Context) string {
	b, _ := json.Marshal(map[string]string{
		"copied":          i18n.T(ctx, "Copied"),
		"pressCtrlC":      i18n.T(ctx, "Press Ctrl+C"),
		"copy":            i18n.T(ctx, "Copy"),
		"nSelected":       i18n.T(ctx, "{n} selected:"),
		"withSelected":    i18n.T(ctx, "With selected:"),
		"uploadFailed":    i18n.T(ctx, "Upload failed"),
		"checkingImage":   i18n.T(ctx, "Checking the image…"),
		"uploaded":        i18n.T(ctx, "Uploaded"),
		"uploadRefused":   i18n.T(ctx, "The upload was refused ({status})."),
		"connectionBroke": i18n.T(ctx, "The connection broke during the upload. Try again."),
		"uploadingFile":   i18n.T(ctx, "Uploading {name}…"),
		"someUploaded":    i18n.T(ctx, "{done} of {n} uploaded"),
		"filesFailed":     i18n.T(ctx, "{n} file(s) failed: see the list above."),
		"allUploaded":     i18n.T(ctx, "All {n} uploaded"),
		"uploadingOf":     i18n.T(ctx, "Uploading {i} of {n}: {name}"),
		"refused":         i18n.T(ctx, "refused ({status})"),
		"broke":           i18n.T(ctx, "the connection broke"),
	})
	return string(b)
}
