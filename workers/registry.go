package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"stratus/models"
)

// Worker runs one kind of job, whose arguments are a T. Work must be
// idempotent: a job whose worker died is run again.
type Worker[T models.JobArgs] interface {
	Work(ctx context.Context, job *models.Job, args T) error
}

// WorkFunc adapts a function to Worker.
type WorkFunc[T models.JobArgs] func(ctx context.Context, job *models.Job, args T) error

// Work calls f.
func (f WorkFunc[T]) Work(ctx context.Context, job *models.Job, args T) error {
	return f(ctx, job, args)
}

// handler decodes a job's arguments and calls its typed worker.
type handler func(ctx context.Context, job *models.Job) error

// Registry maps job kinds to workers. Build it once at start-up; it is read
// concurrently afterwards and must not change while a Pool uses it.
type Registry struct {
	kinds map[string]handler
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{kinds: map[string]handler{}}
}

// Register adds the worker for T's kind. The kind comes from T's zero value,
// so Kind must be a method on the value type returning a constant. A second
// worker for the same kind is a programming error and panics, as
// http.ServeMux does.
func Register[T models.JobArgs](r *Registry, w Worker[T]) {
	var zero T
	kind := zero.Kind()
	if kind == "" {
		panic(fmt.Sprintf("workers: %T has an empty Kind", zero))
	}
	if _, dup := r.kinds[kind]; dup {
		panic(fmt.Sprintf("workers: a worker for kind %q is already registered", kind))
	}
	r.kinds[kind] = func(ctx context.Context, job *models.Job) error {
		var args T
		if err := json.Unmarshal(job.Args, &args); err != nil {
			return Terminal(fmt.Errorf("job arguments of kind %q cannot be decoded: %w", kind, err))
		}
		return w.Work(ctx, job, args)
	}
}

// Kinds lists the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	out := make([]string, 0, len(r.kinds))
	for k := range r.kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// work runs job with the worker registered for its kind.
func (r *Registry) work(ctx context.Context, job *models.Job) error {
	h, ok := r.kinds[job.Kind]
	if !ok {
		return Terminal(fmt.Errorf("no worker handles jobs of kind %q on this service", job.Kind))
	}
	return h(ctx, job)
}
