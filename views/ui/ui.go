// Package ui holds the small view components every page is built from:
// buttons, form fields with their errors, badges, tables, pagers, icons.
package ui

import (
	"time"
)

// Button styles. They are whole class strings (not built from parts) so that
// the Tailwind build finds every class it must emit.
const (
	BtnPrimary   = "inline-flex items-center justify-center gap-2 rounded-lg bg-indigo-600 px-3.5 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-50"
	BtnSecondary = "inline-flex items-center justify-center gap-2 rounded-lg bg-white px-3.5 py-2 text-sm font-semibold text-slate-700 shadow-sm ring-1 ring-inset ring-slate-300 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
	BtnDanger    = "inline-flex items-center justify-center gap-2 rounded-lg bg-rose-600 px-3.5 py-2 text-sm font-semibold text-white shadow-sm hover:bg-rose-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-rose-600"
	BtnSmall     = "inline-flex items-center justify-center gap-1.5 rounded-md bg-white px-2.5 py-1.5 text-xs font-semibold text-slate-700 shadow-sm ring-1 ring-inset ring-slate-300 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
	BtnSmallRed  = "inline-flex items-center justify-center gap-1.5 rounded-md bg-white px-2.5 py-1.5 text-xs font-semibold text-rose-700 shadow-sm ring-1 ring-inset ring-rose-300 hover:bg-rose-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-rose-600"
	IconBtn      = "inline-flex size-7 items-center justify-center rounded-md text-slate-500 ring-1 ring-inset ring-slate-200 hover:bg-slate-100 hover:text-slate-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
	IconBtnRed   = "inline-flex size-7 items-center justify-center rounded-md text-rose-500 ring-1 ring-inset ring-rose-200 hover:bg-rose-50 hover:text-rose-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-rose-600"
	Link         = "font-medium text-indigo-600 hover:text-indigo-500 hover:underline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 rounded-sm"
)

// Input styles: normal and with an error.
const (
	inputOK  = "block w-full rounded-lg border-0 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 placeholder:text-slate-400 focus:ring-2 focus:ring-inset focus:ring-indigo-600 focus:outline-none"
	inputBad = "block w-full rounded-lg border-0 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-rose-400 placeholder:text-slate-400 focus:ring-2 focus:ring-inset focus:ring-rose-600 focus:outline-none"
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

// When formats a time for tables: UTC, to the minute.
func When(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// WhenPtr formats an optional time; never is what a nil one shows.
func WhenPtr(t *time.Time, never string) string {
	if t == nil || t.IsZero() {
		return never
	}
	return When(*t)
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

func badgeClass(t Tone) string {
	switch t {
	case Green:
		return "inline-flex items-center gap-1 rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 ring-1 ring-inset ring-emerald-600/20"
	case Red:
		return "inline-flex items-center gap-1 rounded-full bg-rose-50 px-2 py-0.5 text-xs font-medium text-rose-700 ring-1 ring-inset ring-rose-600/20"
	case Amber:
		return "inline-flex items-center gap-1 rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800 ring-1 ring-inset ring-amber-600/20"
	case Blue:
		return "inline-flex items-center gap-1 rounded-full bg-sky-50 px-2 py-0.5 text-xs font-medium text-sky-700 ring-1 ring-inset ring-sky-600/20"
	case Indigo:
		return "inline-flex items-center gap-1 rounded-full bg-indigo-50 px-2 py-0.5 text-xs font-medium text-indigo-700 ring-1 ring-inset ring-indigo-600/20"
	}
	return "inline-flex items-center gap-1 rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-600 ring-1 ring-inset ring-slate-500/20"
}

func dotClass(t Tone) string {
	switch t {
	case Green:
		return "size-1.5 rounded-full bg-emerald-500"
	case Red:
		return "size-1.5 rounded-full bg-rose-500"
	case Amber:
		return "size-1.5 rounded-full bg-amber-500"
	case Blue:
		return "size-1.5 rounded-full bg-sky-500"
	case Indigo:
		return "size-1.5 rounded-full bg-indigo-500"
	}
	return "size-1.5 rounded-full bg-slate-400"
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
