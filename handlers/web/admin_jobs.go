package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/pages"
)

// jobs is the queue view; htmx polls its live panel (the "jobs-live"
// fragment of the same page).
func (h *Web) jobs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	marker, _ := strconv.ParseInt(q.Get("marker"), 10, 64)
	counts, err := h.Store.JobCounts(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	jobs, next, err := h.Store.ListJobs(ctx, models.JobFilter{State: models.JobState(state), Limit: 50, Marker: marker})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	markerText := ""
	if marker > 0 {
		markerText = strconv.FormatInt(marker, 10)
	}
	s := h.shell(r, "Jobs", "admin-jobs")
	p := pages.JobsProps{
		Jobs:    jobs,
		State:   state,
		PollURL: listURL("/admin/jobs", "state", state, "marker", markerText),
		CSRF:    s.CSRF,
	}
	p.Here = p.PollURL
	for _, st := range models.JobStates() {
		p.Counts = append(p.Counts, pages.JobCount{State: st, N: counts[st],
			Href: listURL("/admin/jobs", "state", string(st)), Active: state == string(st)})
	}
	if marker > 0 {
		p.FirstURL = listURL("/admin/jobs", "state", state)
	}
	if next > 0 {
		p.NextURL = listURL("/admin/jobs", "state", state, "marker", strconv.FormatInt(next, 10))
	}
	h.renderPage(w, r, http.StatusOK, pages.JobsPage(s, p), "jobs-live")
}

func (h *Web) retryJob(w http.ResponseWriter, r *http.Request) {
	h.jobAction(w, r, h.Store.RetryJob, "retried: it runs again soon")
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
		h.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such job.")
		return
	}
	j, err := act(ctx, callerOf(ctx), id)
	switch {
	case err == nil:
		h.flash(r, "Job "+strconv.FormatInt(j.ID, 10)+" ("+j.Kind+") "+done+".")
	case httpStatus(err) == http.StatusConflict:
		h.flashError(r, h.userMessage(r, err))
	default:
		h.fail(w, r, err)
		return
	}
	redirect(w, r, back)
}
