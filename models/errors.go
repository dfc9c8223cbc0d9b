package models

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors. Both HTTP adapters map them to status codes in one table
// (handlers/httpx), so every intent reports failures with these.
var (
	ErrNotFound      = errors.New("not found")
	ErrConflict      = errors.New("conflict")
	ErrForbidden     = errors.New("forbidden")
	ErrQuotaExceeded = errors.New("quota exceeded")
	ErrInvalid       = errors.New("invalid input")
	ErrTooLarge      = errors.New("too large")
	// ErrUnauthenticated is a failed login or an unknown/expired token. Its
	// message never says which part was wrong.
	ErrUnauthenticated = errors.New("unauthenticated")
)

// Error is an error whose message was written for the person using Stratus:
// adapters may show Msg as it is. Internal errors (SQL, I/O) are never shown.
type Error struct {
	Kind error  // one of the sentinels above
	Msg  string // safe to show to the caller
	// Format and Args are Msg before fmt.Sprintf, when it was made so: the
	// web console looks Format up in its catalogue to say Msg in the
	// reader's language (the API keeps Msg).
	Format string
	Args   []any
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

// errorf is an *Error of kind made from a format, which it keeps for the
// web console's translation.
func errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Format: format, Args: args}
}

func notFound(format string, args ...any) error  { return errorf(ErrNotFound, format, args...) }
func conflict(format string, args ...any) error  { return errorf(ErrConflict, format, args...) }
func forbidden(format string, args ...any) error { return errorf(ErrForbidden, format, args...) }

// Message is a text for people made with fmt.Sprintf, kept as the format
// and its arguments: String is the English the API shows; the web console
// looks Format up in its catalogue to say it in the reader's language.
type Message struct {
	Format string
	Args   []any
}

func (m Message) String() string { return fmt.Sprintf(m.Format, m.Args...) }

// Problem is what is wrong with one field: its English text and, when the
// text was made from a format (Invalidf, Problems.Addf), that Message
// (Msg.Format is "" for a fixed sentence). As an argument of another
// field's format it prints as its text.
type Problem struct {
	Text string
	Msg  Message
}

func (p Problem) String() string { return p.Text }

// ProblemList is several problems given as one argument of a format,
// printed as their texts joined with "; " (a manifest's per-segment
// errors): the web console translates each in turn.
type ProblemList []Problem

func (l ProblemList) String() string {
	texts := make([]string, len(l))
	for i, p := range l {
		texts[i] = p.Text
	}
	return strings.Join(texts, "; ")
}

func problemf(format string, args ...any) Problem {
	return Problem{Text: fmt.Sprintf(format, args...), Msg: Message{Format: format, Args: args}}
}

// ValidationError names each field that is wrong and why. Forms re-render
// with it; the API returns it as 422 with "fields".
type ValidationError struct {
	Fields map[string]string // field → English text
	// Formats holds the Message of each field whose text was made from a
	// format, for the web console to translate; Fields keeps the English.
	Formats map[string]Message
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Problem is field's problem with the format it was made from, if any.
func (e *ValidationError) Problem(field string) Problem {
	return Problem{Text: e.Fields[field], Msg: e.Formats[field]}
}

// Problems collects field errors while an intent validates its input.
type Problems map[string]Problem

// Add records msg for field unless the field already has a problem.
func (p Problems) Add(field, msg string) { p.put(field, Problem{Text: msg}) }

// Addf is Add of fmt.Sprintf(format, args...), keeping the format for the
// web console's translation.
func (p Problems) Addf(field, format string, args ...any) { p.put(field, problemf(format, args...)) }

// put records pr for field unless the field already has a problem: a
// problem moved from another check, with its format.
func (p Problems) put(field string, pr Problem) {
	if _, ok := p[field]; !ok {
		p[field] = pr
	}
}

// has reports whether field has a problem.
func (p Problems) has(field string) bool {
	_, ok := p[field]
	return ok
}

// Err returns nil when there is no problem, else a *ValidationError.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	ve := &ValidationError{Fields: make(map[string]string, len(p))}
	for field, pr := range p {
		ve.Fields[field] = pr.Text
		if pr.Msg.Format != "" {
			if ve.Formats == nil {
				ve.Formats = map[string]Message{}
			}
			ve.Formats[field] = pr.Msg
		}
	}
	return ve
}

// Invalid is a one-field validation error.
func Invalid(field, msg string) error {
	return &ValidationError{Fields: map[string]string{field: msg}}
}

// Invalidf is Invalid of fmt.Sprintf(format, args...), keeping the format
// for the web console's translation.
func Invalidf(field, format string, args ...any) error {
	return invalidProblem(field, problemf(format, args...))
}

// invalidProblem is a one-field validation error of a problem made by
// another check (NameProblem).
func invalidProblem(field string, pr Problem) error {
	p := Problems{}
	p.put(field, pr)
	return p.Err()
}
