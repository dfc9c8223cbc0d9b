package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/pages"
)

// Instance list page sizes: the default, and the most a page may ask for.
const (
	instancePageSize    = 50
	maxInstancePageSize = 200
)

// instanceListQuery is a list page's filters, read from its URL.
type instanceListQuery struct {
	name, status, marker, project, host string
	limit                               int
}

func readInstanceQuery(r *http.Request) instanceListQuery {
	q := r.URL.Query()
	lq := instanceListQuery{
		name: strings.TrimSpace(q.Get("name")), status: strings.ToUpper(strings.TrimSpace(q.Get("status"))),
		marker: q.Get("marker"), project: q.Get("project"), host: q.Get("host"), limit: instancePageSize,
	}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		lq.limit = min(n, maxInstancePageSize)
	}
	return lq
}

// url rebuilds the list's URL with these filters and the given marker.
func (lq instanceListQuery) url(path, marker string) string {
	limit := ""
	if lq.limit != instancePageSize {
		limit = strconv.Itoa(lq.limit)
	}
	return listURL(path, "name", lq.name, "status", lq.status, "project", lq.project, "host", lq.host, "limit", limit, "marker", marker)
}

func (lq instanceListQuery) filter() models.InstanceFilter {
	return models.InstanceFilter{ListOptions: models.ListOptions{Name: lq.name, Marker: lq.marker, Limit: lq.limit}, Status: lq.status}
}

// rowContext is what every row of the caller's list shares.
func (h *Web) rowContext(r *http.Request, here string) pages.RowContext {
	ctx := r.Context()
	return pages.RowContext{
		CSRF: h.csrfToken(r), Here: here, Now: h.Store.Now(),
		CanAct: h.allowed(ctx, "compute:instance:action"), CanDelete: h.allowed(ctx, "compute:instance:delete"),
	}
}

// instances is the project's instance list. Its cost is a constant number
// of queries whatever the page size: the rows carry their flavor, image and
// key pair names, so nothing is looked up per row.
func (h *Web) instances(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lq := readInstanceQuery(r)
	page, err := h.Store.ListInstances(ctx, callerOf(ctx), lq.filter())
	if fields := fieldErrors(err); fields != nil {
		// A stale marker or an unknown status: drop it and show the rest.
		if fields["marker"] != "" {
			lq.marker = ""
		}
		if fields["status"] != "" {
			lq.status = ""
		}
		page, err = h.Store.ListInstances(ctx, callerOf(ctx), lq.filter())
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	here := lq.url("/instances", lq.marker)
	p := pages.InstancesProps{Name: lq.name, Status: lq.status, Row: h.rowContext(r, here)}
	p.Rows = make([]pages.InstanceRow, len(page.Items))
	for i, inst := range page.Items {
		p.Rows[i] = pages.InstanceRow{Inst: inst}
		p.Polling = p.Polling || inst.InTransition()
	}
	if lq.marker != "" {
		p.FirstURL = lq.url("/instances", "")
	}
	if page.NextMarker != "" {
		p.NextURL = lq.url("/instances", page.NextMarker)
	}
	h.renderPage(w, r, http.StatusOK, pages.InstancesPage(h.shell(r, "Instances", "instances"), p), "results")
}

// maxPolledRows bounds how many rows one poll may ask for (a page's worth).
const maxPolledRows = maxInstancePageSize

// instanceRows answers the list's poller: the requested rows of the
// caller's project again, each to be swapped in by its id, and a delete for
// each that is gone. IDs of other projects' instances (or made up) are not
// found by the project-scoped query and so are simply not in the answer.
// When none of the rows is in transition any more the answer is 286, which
// tells htmx to stop polling.
func (h *Web) instanceRows(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var ids []string
	for _, v := range r.URL.Query()["ids"] {
		for _, id := range strings.Split(v, ",") {
			if models.IsUUID(id) && len(ids) < maxPolledRows {
				ids = append(ids, id)
			}
		}
	}
	here := safeNext(r.URL.Query().Get("here"))
	if here == "" || !strings.HasPrefix(here, "/instances") {
		here = "/instances"
	}
	if len(ids) == 0 {
		w.WriteHeader(286)
		return
	}
	page, err := h.Store.ListInstances(ctx, callerOf(ctx), models.InstanceFilter{
		IDs: ids, Deleted: true, ListOptions: models.ListOptions{Limit: len(ids)},
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var rows []pages.InstanceRow
	var gone []string
	busy := false
	for _, inst := range page.Items {
		if inst.DeletedAt != nil {
			gone = append(gone, inst.ID)
			continue
		}
		rows = append(rows, pages.InstanceRow{Inst: inst})
		busy = busy || inst.InTransition()
	}
	status := http.StatusOK
	if !busy {
		status = 286
	}
	h.render(w, r, status, pages.InstanceRowsOOB(rows, gone, h.rowContext(r, here)))
}

// instance is an instance's overview tab.
func (h *Web) instance(w http.ResponseWriter, r *http.Request) { h.renderInstance(w, r, "overview") }

// instanceLog is its action log tab.
func (h *Web) instanceLog(w http.ResponseWriter, r *http.Request) { h.renderInstance(w, r, "log") }

func (h *Web) renderInstance(w http.ResponseWriter, r *http.Request, tab string) {
	ctx := r.Context()
	c := callerOf(ctx)
	inst, err := h.Store.GetInstance(ctx, c, chi.URLParam(r, "id"))
	if err == nil && inst.VMState == models.VMDeleted {
		err = models.ErrNotFound
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var log []models.InstanceAction
	if h.allowed(ctx, "compute:instance:actions") {
		if log, err = h.Store.ListInstanceActions(ctx, c, inst.ID); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	here := "/instances/" + inst.ID
	if tab == "log" {
		here += "/log"
	}
	p := pages.InstanceDetailProps{
		Inst: inst, Log: log, Tab: tab, Actions: pages.ActionsFor(inst), CSRF: h.csrfToken(r), Here: here,
		CanAct: h.allowed(ctx, "compute:instance:action"), CanDelete: h.allowed(ctx, "compute:instance:delete"),
		ShowHost: c.IsSystemAdmin(),
	}
	h.renderPage(w, r, http.StatusOK, pages.InstanceDetailPage(h.shell(r, inst.Name, "instances"), p), "instance-live")
}

// backTo is where an action's form returns: its "next" field when that is
// one of the instance pages, else the list.
func backTo(r *http.Request) string {
	next := safeNext(r.PostFormValue("next"))
	if !strings.HasPrefix(next, "/instances") {
		return "/instances"
	}
	return next
}

// instanceAction starts, stops or reboots an instance and returns to the
// page the button was on, which then follows the task live. A state that
// does not allow the action is a flash error, not an error page.
func (h *Web) instanceAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	action := r.PostFormValue("action")
	inst, err := h.Store.PowerAction(ctx, callerOf(ctx), chi.URLParam(r, "id"), action)
	if !h.actionDone(w, r, err) {
		return
	}
	h.flash(r, actionVerb(action)+" "+inst.Name+".")
	redirect(w, r, backTo(r))
}

func (h *Web) deleteInstance(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	inst, err := h.Store.DeleteInstance(ctx, callerOf(ctx), chi.URLParam(r, "id"))
	if !h.actionDone(w, r, err) {
		return
	}
	h.flash(r, "Deleting "+inst.Name+".")
	back := backTo(r)
	if strings.HasPrefix(back, "/instances/"+inst.ID) {
		back = "/instances"
	}
	redirect(w, r, back)
}

// actionDone handles an action's error: a conflict or an invalid action
// becomes a flash on the page the button was on; anything else an error
// page. It reports whether the action succeeded.
func (h *Web) actionDone(w http.ResponseWriter, r *http.Request, err error) bool {
	switch st := httpStatus(err); {
	case err == nil:
		return true
	case st == http.StatusConflict || st == http.StatusUnprocessableEntity:
		h.flashError(r, h.userMessage(r, err))
		redirect(w, r, backTo(r))
	default:
		h.fail(w, r, err)
	}
	return false
}

func actionVerb(action string) string {
	switch action {
	case models.PowerStart:
		return "Starting"
	case models.PowerStop:
		return "Stopping"
	case models.PowerReboot:
		return "Rebooting"
	case models.PowerRebootHard:
		return "Hard rebooting"
	}
	return action
}

func (h *Web) bulkStop(w http.ResponseWriter, r *http.Request) {
	h.bulk(w, r, "stop", func(c models.Caller, id string) (models.Instance, error) {
		return h.Store.PowerAction(r.Context(), c, id, models.PowerStop)
	})
}

func (h *Web) bulkDelete(w http.ResponseWriter, r *http.Request) {
	h.bulk(w, r, "delete", func(c models.Caller, id string) (models.Instance, error) {
		return h.Store.DeleteInstance(r.Context(), c, id)
	})
}

// bulk runs one action on each selected instance (each its own intent: one
// refusal does not undo the others) and says what happened in one flash.
func (h *Web) bulk(w http.ResponseWriter, r *http.Request, verb string, act func(models.Caller, string) (models.Instance, error)) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, models.Invalid("selected", "the form could not be read"))
		return
	}
	ids := r.PostForm["selected"]
	if len(ids) == 0 {
		h.flashError(r, "Select at least one instance first.")
		redirect(w, r, backTo(r))
		return
	}
	if len(ids) > maxInstancePageSize {
		ids = ids[:maxInstancePageSize]
	}
	c := callerOf(ctx)
	var done, refused []string
	for _, id := range ids {
		inst, err := act(c, id)
		switch st := httpStatus(err); {
		case err == nil:
			done = append(done, inst.Name)
		case st == http.StatusConflict || st == http.StatusNotFound || st == http.StatusUnprocessableEntity:
			refused = append(refused, h.userMessage(r, err))
		default:
			h.fail(w, r, err)
			return
		}
	}
	msg := ""
	if len(done) > 0 {
		msg = strings.ToUpper(verb[:1]) + verb[1:] + " requested for " + strings.Join(done, ", ") + "."
	}
	if len(refused) > 0 {
		h.flashError(r, strings.TrimSpace(msg+" Not possible for "+strconv.Itoa(len(refused))+" of "+
			strconv.Itoa(len(ids))+": "+strings.Join(refused, " ")))
	} else {
		h.flash(r, msg)
	}
	redirect(w, r, backTo(r))
}
