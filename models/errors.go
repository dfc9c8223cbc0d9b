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

func notFound(format string, args ...any) error {
	return &Error{Kind: ErrNotFound, Msg: fmt.Sprintf(format, args...), Format: format, Args: args}
}

func conflict(format string, args ...any) error {
	return &Error{Kind: ErrConflict, Msg: fmt.Sprintf(format, args...), Format: format, Args: args}
}

func forbidden(format string, args ...any) error {
	return &Error{Kind: ErrForbidden, Msg: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// ValidationError names each field that is wrong and why. Forms re-render
// with it; the API returns it as 422 with "fields".
type ValidationError struct {
	Fields map[string]string
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

// Problems collects field errors while an intent validates its input.
type Problems map[string]string

// Add records msg for field unless the field already has a problem.
func (p Problems) Add(field, msg string) {
	if _, ok := p[field]; !ok {
		p[field] = msg
	}
}

// Err returns nil when there is no problem, else a *ValidationError.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Fields: map[string]string(p)}
}

// Invalid is a one-field validation error.
func Invalid(field, msg string) error {
	return &ValidationError{Fields: map[string]string{field: msg}}
}
