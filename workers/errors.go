package workers

import (
	"errors"
	"fmt"
	"time"
)

// A Worker's error decides what happens to its job:
//
//   - nil: succeeded.
//   - Terminal(err): failed now, whatever attempts are left; err's message is
//     the fault an operator or user reads, so write it for them.
//   - Cancel(err): cancelled; the work is no longer wanted (its resource is
//     gone).
//   - Snooze(d): run again after d; the attempt does not count.
//   - anything else (a panic included): transient; retried with backoff until
//     the job's attempts run out, then failed with this error.

// TerminalError marks an error that retrying cannot fix.
type TerminalError struct{ Err error }

func (e *TerminalError) Error() string { return e.Err.Error() }
func (e *TerminalError) Unwrap() error { return e.Err }

// Terminal fails the job at once with err's message.
func Terminal(err error) error {
	if err == nil {
		err = errors.New("terminal error")
	}
	return &TerminalError{Err: err}
}

// Terminalf is Terminal(fmt.Errorf(format, args...)).
func Terminalf(format string, args ...any) error {
	return Terminal(fmt.Errorf(format, args...))
}

// CancelError marks a job its worker decided not to finish.
type CancelError struct{ Err error }

func (e *CancelError) Error() string { return e.Err.Error() }
func (e *CancelError) Unwrap() error { return e.Err }

// Cancel ends the job as cancelled, with err's message as the reason.
func Cancel(err error) error {
	if err == nil {
		err = errors.New("cancelled by its worker")
	}
	return &CancelError{Err: err}
}

// SnoozeError asks for the job to run again later.
type SnoozeError struct{ After time.Duration }

func (e *SnoozeError) Error() string { return fmt.Sprintf("snoozed for %s", e.After) }

// Snooze makes the job available again after d without counting the attempt.
func Snooze(d time.Duration) error {
	return &SnoozeError{After: max(d, 0)}
}
