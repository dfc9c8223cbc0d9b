package workers

import (
	"math/rand/v2"
	"time"
)

// Backoff spaces the retries of a failing job: Base × attempt⁴, at most Max,
// then ± Jitter so that jobs that failed together do not retry together.
// With the defaults (1 s, 1 h, 10 %) attempts 1–5 wait about 1 s, 16 s,
// 81 s, 4 min and 10 min.
type Backoff struct {
	Base   time.Duration
	Max    time.Duration
	Jitter float64 // fraction of the delay, 0–1
}

// DefaultBackoff is the production retry spacing.
func DefaultBackoff() Backoff {
	return Backoff{Base: time.Second, Max: time.Hour, Jitter: 0.1}
}

// Delay is how long to wait after the given failed attempt (1-based).
func (b Backoff) Delay(attempt int) time.Duration {
	a := float64(max(attempt, 1))
	d := float64(b.Base) * a * a * a * a
	if b.Max > 0 && d > float64(b.Max) {
		d = float64(b.Max)
	}
	if b.Jitter > 0 {
		d += d * b.Jitter * (2*rand.Float64() - 1)
	}
	return time.Duration(d)
}
