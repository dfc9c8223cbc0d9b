package web

import (
	"context"
	"encoding/json"
	"net/http"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
)

// overview is the home page: the user, their roles, the current project —
// or, for a user without a project, what to do about it.
func (h *Web) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	u, err := h.Store.GetUser(ctx, c.UserID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ms, err := h.Store.ProjectsOfUser(ctx, c.UserID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.OverviewProps{
		User: u, Caller: c, Memberships: ms,
		CanTokens: h.allowed(ctx, "identity:token:list"),
		CanAdmin:  h.allowed(ctx, "identity:project:list"),
	}
	for i := range ms {
		if ms[i].ID == c.ProjectID {
			p.Project = &ms[i].Project
		}
	}
	if p.Project != nil && h.allowed(ctx, "compute:usage") {
		quotas, err := h.Store.ProjectQuotas(ctx, c.ProjectID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, q := range quotas {
			p.Quotas = append(p.Quotas, quotaMeter(r.Context(), q))
		}
		if p.Chart, err = quotaChart(r.Context(), p.Quotas); err != nil {
			h.fail(w, r, err)
			return
		}
		p.ChartLib = h.Assets.URL("uplot.min.js")
	}
	h.render(w, r, http.StatusOK, pages.OverviewPage(h.shell(r, i18n.T(r.Context(), "Overview"), "overview"), p))
}

// switchProject changes the session's current project, only to one the user
// has a role on (checked by resolving the caller in it), and returns to the
// page the picker was on.
func (h *Web) switchProject(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	projectID := r.PostFormValue("project")
	nc, err := h.Store.ResolveCaller(ctx, c.UserID, projectID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if projectID == "" || !models.IsUUID(projectID) || nc.ProjectID != projectID {
		// Unknown, disabled, or not theirs: one answer for all, so the
		// picker cannot be used to probe other tenants' project IDs.
		h.errorPage(w, r, http.StatusForbidden, i18n.T(r.Context(), "You may not do this"), i18n.T(r.Context(), "You have no role on that project."))
		return
	}
	h.Sessions.Put(ctx, keyProjectID, nc.ProjectID)
	h.flash(r, i18n.T(r.Context(), "You are now working in project %s.", nc.ProjectName))
	to := safeNext(r.PostFormValue("next"))
	if to == "" {
		to = "/"
	}
	redirect(w, r, to)
}

// quotaChartData is what the overview's chart script draws: one bar per
// quota resource, its share of the limit in use, and the figures as text.
type quotaChartData struct {
	Labels  []string `json:"labels"`
	Percent []int    `json:"percent"`
	Used    []int64  `json:"used"`
	Limit   []int64  `json:"limit"` // -1: no limit
	Text    []string `json:"text"`  // "3 of 10", for people
	Short   []string `json:"short"` // "3/10", over the bars
}

// quotaChart encodes the quota meters for the chart (a data- attribute: no
// inline script).
func quotaChart(ctx context.Context, ms []pages.QuotaMeter) (string, error) {
	d := quotaChartData{}
	for _, m := range ms {
		d.Labels = append(d.Labels, m.Label)
		d.Percent = append(d.Percent, m.Percent())
		d.Used = append(d.Used, m.Used)
		d.Limit = append(d.Limit, m.Limit)
		d.Text = append(d.Text, m.Text(ctx))
		d.Short = append(d.Short, m.Short(ctx))
	}
	b, err := json.Marshal(d)
	return string(b), err
}
