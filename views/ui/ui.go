// Package ui holds the small view components every page is built from:
// buttons, form fields with their errors, badges, tables, pagers, icons.
package ui

import (
	"strings"
	"time"
)

// Button, link and input styles: component classes of static/src/app.css
// (one short name instead of a long utility list repeated on every row).
const (
	BtnPrimary   = "btn-primary"
	BtnSecondary = "btn-secondary"
	BtnDanger    = "btn-danger"
	BtnSmall     = "btn-sm"
	BtnSmallRed  = "btn-sm-red"
	IconBtn      = "btn-icon"
	IconBtnRed   = "btn-icon-red"
	Link         = "link"
	inputOK      = "input"
	inputBad     = "input-bad"
)

func inputClass(err string) string {
	if err != "" {
		return inputBad
	}
	return inputOK
}

// Form is a form's submitted values and its field errors, so that a form
// re-renders with what the user typed and what is wrong with it. Passwords
// are never put in Values.
type Form struct {
	Values map[string]string
	Errors map[string]string
	// Error is a message about the form as a whole (not one field).
	Error string
}

// NewForm returns an empty form with defaults.
func NewForm(defaults map[string]string) Form {
	v := map[string]string{}
	for k, x := range defaults {
		v[k] = x
	}
	return Form{Values: v, Errors: map[string]string{}}
}

// Get returns a field's value.
func (f Form) Get(name string) string { return f.Values[name] }

// Err returns a field's error.
func (f Form) Err(name string) string { return f.Errors[name] }

// HasErrors reports whether anything is wrong.
func (f Form) HasErrors() bool { return len(f.Errors) > 0 || f.Error != "" }

// Field describes one labelled input.
type Field struct {
	Name         string
	Label        string
	Type         string // text (default), password, email, number
	Value        string
	Error        string
	Hint         string
	Placeholder  string
	Autocomplete string
	Required     bool
	Optional     bool   // say "(optional)" beside the label
	List         string // id of a <datalist>
	Min, Max     string // for number inputs
	TestID       string
}

// ID is the input's element id.
func (f Field) ID() string { return "f-" + f.Name }

func (f Field) inputType() string {
	if f.Type == "" {
		return "text"
	}
	return f.Type
}

func (f Field) describedBy() string {
	switch {
	case f.Error != "" && f.Hint != "":
		return f.ID() + "-error " + f.ID() + "-hint"
	case f.Error != "":
		return f.ID() + "-error"
	case f.Hint != "":
		return f.ID() + "-hint"
	}
	return ""
}

// FormField is a Field filled from a Form.
func (f Form) Field(name, label string) Field {
	return Field{Name: name, Label: label, Value: f.Values[name], Error: f.Errors[name]}
}

// PagerLinks are a marker-paged list's links: to its first page (empty on
// the first page) and to the next one (empty on the last).
type PagerLinks struct {
	First string
	Next  string
}

// ISO is the machine-readable form of a time for <time datetime>.
func ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Tone is a badge's colour.
type Tone int

const (
	Gray Tone = iota
	Green
	Red
	Amber
	Blue
	Indigo
)

func badgeClass(t Tone) string { return strings.TrimSpace("badge " + toneClass("badge", t)) }

func dotClass(t Tone) string { return strings.TrimSpace("dot " + toneClass("dot", t)) }

// toneClass is the component class that colours a badge or a dot (gray
// is the base class's own colour).
func toneClass(base string, t Tone) string {
	switch t {
	case Green:
		return base + "-green"
	case Red:
		return base + "-red"
	case Amber:
		return base + "-amber"
	case Blue:
		return base + "-blue"
	case Indigo:
		return base + "-indigo"
	}
	return ""
}

func meterClass(percent int) string {
	switch {
	case percent >= 90:
		return "fill-rose-500"
	case percent >= 70:
		return "fill-amber-500"
	}
	return "fill-indigo-500"
}
