package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
)

// jobs is the queue view; htmx polls its live panel (the "jobs-live"
// fragment of the same page).
func (h *Web) jobs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lq := readList(r, "/admin/jobs", 50, "state")
	state := lq.get("state")
	counts, err := h.Store.JobCounts(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	jobs, next, err := h.Store.ListJobs(ctx, models.JobFilter{State: models.JobState(state), Limit: lq.limit, Marker: lq.seqMarker()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s := h.shell(r, i18n.T(r.Context(), "Jobs"), "admin-jobs")
	p := pages.JobsProps{Jobs: jobs, State: state, PollURL: lq.here(), Here: lq.here(), CSRF: s.CSRF,
		Pager: lq.pager(strconv.FormatInt(next, 10))}
	for _, st := range models.JobStates() {
		p.Counts = append(p.Counts, pages.JobCount{State: st, N: counts[st], Href: lq.with("state", string(st)), Active: state == string(st)})
	}
	h.renderPage(w, r, http.StatusOK, pages.JobsPage(s, p), "jobs-live")
}

func (h *Web) retryJob(w http.ResponseWriter, r *http.Request) {
	h.jobAction(w, r, h.Store.RetryJob, i18n.T(r.Context(), "retried: it runs again soon"))
}

func (h *Web) cancelJob(w http.ResponseWriter, r *http.Request) {
	h.jobAction(w, r, h.Store.CancelJob, "cancelled")
}

// jobAction runs retry or cancel and returns to the jobs page the button was
// on; a job in the wrong state for it is a flash error, not an error page.
func (h *Web) jobAction(w http.ResponseWriter, r *http.Request,
	act func(ctx context.Context, c models.Caller, id int64) (models.Job, error), done string) {
	ctx := r.Context()
	back := safeNext(r.PostFormValue("next"))
	if back == "" {
		back = "/admin/jobs"
	}
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		h.errorPage(w, r, http.StatusNotFound, i18n.T(r.Context(), "Not found"), i18n.T(r.Context(), "There is no such job."))
		return
	}
	j, err := act(ctx, callerOf(ctx), id)
	h.finish(w, r, err, back, i18n.T(r.Context(), "Job %s (%s) %s.", strconv.FormatInt(j.ID, 10), j.Kind, done))
}
