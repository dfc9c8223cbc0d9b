// Package workers makes the desired state real: it owns the job runtime that
// runs on the rows models enqueues. A Pool claims jobs in batches, runs them
// on a fixed number of goroutines, keeps their leases alive by heartbeat,
// completes successes in batches and retries failures with backoff; a
// Registry maps each job kind to its typed handler; Periodic tasks and
// Maintenance carry the scheduler's queue duties (lease rescue, pruning).
//
// All SQL stays in models; this package decides when to call it.
package workers
