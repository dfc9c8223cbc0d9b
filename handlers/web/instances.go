package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
	"stratus/views/ui"
)

// instancePageSize is how many instances a list page shows unless its URL
// asks for another limit.
const instancePageSize = 50

// readInstanceList reads an instance list's filters: name and status (and,
// for operators, project and host).
func readInstanceList(r *http.Request, path string) listQuery {
	lq := readList(r, path, instancePageSize, "name", "status", "project", "host")
	lq.set("status", strings.ToUpper(lq.get("status")))
	return lq
}

// instanceFilter is the model's filter for an instance list.
func instanceFilter(lq listQuery) models.InstanceFilter {
	return models.InstanceFilter{ListOptions: lq.options(), Status: lq.get("status")}
}

// rowContext is what every row of the caller's list shares.
func (h *Web) rowContext(r *http.Request, here string) pages.RowContext {
	ctx := r.Context()
	return pages.RowContext{
		Here: here, Now: h.Store.Now(),
		CanAct: h.allowed(ctx, "compute:instance:action"), CanDelete: h.allowed(ctx, "compute:instance:delete"),
		CanFloat: h.allowed(ctx, "network:floatingip:update"),
	}
}

// instances is the project's instance list. Its cost is a constant number
// of queries whatever the page size: the rows carry their flavor, image and
// key pair names, so nothing is looked up per row.
func (h *Web) instances(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lq := readInstanceList(r, "/instances")
	page, err := h.Store.ListInstances(ctx, callerOf(ctx), instanceFilter(lq))
	if fields := fieldErrors(r.Context(), err); fields != nil {
		// A stale marker or an unknown status: drop it and show the rest.
		if fields["marker"] != "" {
			lq.marker = ""
		}
		if fields["status"] != "" {
			lq.set("status", "")
		}
		page, err = h.Store.ListInstances(ctx, callerOf(ctx), instanceFilter(lq))
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.InstancesProps{Name: lq.get("name"), Status: lq.get("status"), Row: h.rowContext(r, lq.here()),
		CSRF: h.csrfToken(r), Pager: lq.pager(page.NextMarker)}
	addrs, err := h.instanceAddresses(r, page.Items)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Rows = make([]pages.InstanceRow, len(page.Items))
	for i, inst := range page.Items {
		p.Rows[i] = pages.InstanceRow{Inst: inst, Addresses: addrs[inst.ID]}
		p.Polling = p.Polling || inst.InTransition()
	}
	h.renderPage(w, r, http.StatusOK, pages.InstancesPage(h.shell(r, i18n.T(r.Context(), "Instances"), "instances"), p), "results")
}

// maxPolledRows bounds how many rows one poll may ask for (a page's worth).
const maxPolledRows = maxListLimit

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
	addrs, err := h.instanceAddresses(r, page.Items)
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
		rows = append(rows, pages.InstanceRow{Inst: inst, Addresses: addrs[inst.ID]})
		busy = busy || inst.InTransition()
	}
	status := http.StatusOK
	if !busy {
		status = 286
	}
	h.render(w, r, status, pages.InstanceRowsOOB(rows, gone, h.rowContext(r, here)))
}

// instanceAddresses are the fixed and floating IPs of a page of
// instances, in one query whatever their number.
func (h *Web) instanceAddresses(r *http.Request, insts []models.Instance) (map[string]map[string][]models.Address, error) {
	ids := make([]string, len(insts))
	for i, inst := range insts {
		ids[i] = inst.ID
	}
	return h.Store.InstanceAddresses(r.Context(), ids)
}

// liveInstance reads the caller's instance named by the route's {id} for
// a page about it, or fails the request: a deleted one is gone.
func (h *Web) liveInstance(w http.ResponseWriter, r *http.Request) (models.Instance, bool) {
	ctx := r.Context()
	inst, err := h.Store.GetInstance(ctx, callerOf(ctx), chi.URLParam(r, "id"))
	if err == nil && inst.VMState == models.VMDeleted {
		err = models.ErrNotFound
	}
	if err != nil {
		h.fail(w, r, err)
		return inst, false
	}
	return inst, true
}

// instance is an instance's overview tab.
func (h *Web) instance(w http.ResponseWriter, r *http.Request) { h.renderInstance(w, r, "overview") }

// instanceLog is its action log tab.
func (h *Web) instanceLog(w http.ResponseWriter, r *http.Request) { h.renderInstance(w, r, "log") }

func (h *Web) renderInstance(w http.ResponseWriter, r *http.Request, tab string) {
	ctx := r.Context()
	c := callerOf(ctx)
	inst, ok := h.liveInstance(w, r)
	if !ok {
		return
	}
	var log []models.InstanceAction
	var err error
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
	if p.Moves, err = h.moveProps(ctx, inst); err != nil {
		h.fail(w, r, err)
		return
	}
	if p.Snapshots, err = h.Store.InstanceSnapshots(ctx, c, inst.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	p.SnapshotName = inst.Name + "-snapshot"
	if p.Actions.Rebuild && p.CanAct {
		if p.RebuildImages, err = h.rebuildImages(r); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if h.allowed(ctx, "volume:attachment:list") || c.IsSystemAdmin() {
		if p.Volumes, err = h.instanceVolumes(r, inst, here); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if h.allowed(ctx, "network:port:list") || c.IsSystemAdmin() {
		if p.Network, err = h.instanceNetwork(r, inst, here); err != nil {
			h.fail(w, r, err)
			return
		}
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
	var inst models.Instance
	var err error
	switch action {
	case models.ActionShelve:
		inst, _, err = h.Store.ShelveInstance(ctx, callerOf(ctx), chi.URLParam(r, "id"))
	case models.ActionUnshelve:
		inst, err = h.Store.UnshelveInstance(ctx, callerOf(ctx), chi.URLParam(r, "id"))
	default:
		inst, err = h.Store.PowerAction(ctx, callerOf(ctx), chi.URLParam(r, "id"), action)
	}
	h.finish(w, r, err, backTo(r), actionDone(ctx, action, inst.Name))
}

// rebuildInstance rebuilds an instance from the image (and with the name)
// the dialog chose, and returns to its page, which follows the task.
func (h *Web) rebuildInstance(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PostFormValue("name")
	req := models.RebuildRequest{Image: r.PostFormValue("image")}
	if strings.TrimSpace(name) != "" {
		req.Name = &name
	}
	inst, err := h.Store.RebuildInstance(ctx, callerOf(ctx), chi.URLParam(r, "id"), req)
	h.finish(w, r, err, backTo(r), i18n.T(ctx, "Rebuilding %s.", inst.Name))
}

// rebuildImages are the images a rebuild may choose: active, bootable,
// visible to the project.
func (h *Web) rebuildImages(r *http.Request) ([]ui.Option, error) {
	ctx := r.Context()
	ims, err := h.Store.ListImages(ctx, callerOf(ctx), models.ImageFilter{Status: models.ImageActive, ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		return nil, err
	}
	var out []ui.Option
	for _, im := range ims.Items {
		if im.Bootable() {
			out = append(out, ui.Option{Value: im.ID, Label: im.Name})
		}
	}
	return out, nil
}

// snapshotInstance starts a snapshot (the name from the dialog's field)
// and returns to the instance's page, which shows its progress. A refusal
// (the state, the name, the quota) is a flash error.
func (h *Web) snapshotInstance(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PostFormValue("name")
	inst, _, err := h.Store.SnapshotInstance(ctx, callerOf(ctx), chi.URLParam(r, "id"), name)
	h.finish(w, r, err, backTo(r), i18n.T(ctx, "Taking snapshot %s of %s.", strings.TrimSpace(name), inst.Name))
}

// deleteInstancePage asks whether to delete an instance: a page without
// JavaScript, a dialog over the list with htmx (renderDialog). It
// returns to the list page it was opened from: its "next" parameter, or
// the page htmx says it is on, or the referring page.
func (h *Web) deleteInstancePage(w http.ResponseWriter, r *http.Request) {
	inst, ok := h.liveInstance(w, r)
	if !ok {
		return
	}
	back := "/instances"
	for _, from := range []string{r.URL.Query().Get("next"), localURL(r.Header.Get("HX-Current-URL")), localURL(r.Referer())} {
		if next := safeNext(from); strings.HasPrefix(next, "/instances") && !strings.HasPrefix(next, "/instances/"+inst.ID) {
			back = next
			break
		}
	}
	p := pages.InstanceDeleteProps{Inst: inst, Back: back, CSRF: h.csrfToken(r)}
	h.renderDialog(w, r, pages.InstanceDeletePage(h.shell(r, i18n.T(r.Context(), "Delete %s", inst.Name), "instances"), p), "dialog")
}

// localURL is the path and query of an absolute URL of this site as a
// browser sends it (Referer, HX-Current-URL); safeNext checks the rest.
func localURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" {
		return ""
	}
	return (&url.URL{Path: u.Path, RawQuery: u.RawQuery}).RequestURI()
}

func (h *Web) deleteInstance(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	inst, err := h.Store.DeleteInstance(ctx, callerOf(ctx), id)
	back := backTo(r)
	if err == nil && strings.HasPrefix(back, "/instances/"+id) {
		back = "/instances" // its own page is gone
	}
	h.finish(w, r, err, back, i18n.T(r.Context(), "Deleting %s.", inst.Name))
}

// actionDone is the flash of a power action requested on an instance.
func actionDone(ctx context.Context, action, name string) string {
	switch action {
	case models.PowerStart:
		return i18n.T(ctx, "Starting %s.", name)
	case models.PowerStop:
		return i18n.T(ctx, "Stopping %s.", name)
	case models.PowerReboot:
		return i18n.T(ctx, "Rebooting %s.", name)
	case models.PowerRebootHard:
		return i18n.T(ctx, "Hard rebooting %s.", name)
	case models.PowerPause:
		return i18n.T(ctx, "Pausing %s.", name)
	case models.PowerUnpause:
		return i18n.T(ctx, "Unpausing %s.", name)
	case models.PowerSuspend:
		return i18n.T(ctx, "Suspending %s.", name)
	case models.PowerResume:
		return i18n.T(ctx, "Resuming %s.", name)
	case models.ActionShelve:
		return i18n.T(ctx, "Shelving %s.", name)
	case models.ActionUnshelve:
		return i18n.T(ctx, "Unshelving %s.", name)
	}
	return action + " " + name + "."
}

func (h *Web) bulkStop(w http.ResponseWriter, r *http.Request) {
	h.bulk(w, r, models.PowerStop)
}

func (h *Web) bulkDelete(w http.ResponseWriter, r *http.Request) {
	h.bulk(w, r, models.ActionDelete)
}

// bulk runs one action on the selected instances (models.BulkInstanceAction:
// each its own intent, one refusal undoes nothing) and says what happened
// in one flash.
func (h *Web) bulk(w http.ResponseWriter, r *http.Request, action string) {
	ctx := r.Context()
	ids := r.PostForm["selected"] // verifyCSRF parsed the form
	if len(ids) == 0 {
		h.flashError(r, i18n.T(r.Context(), "Select at least one instance first."))
		redirect(w, r, backTo(r))
		return
	}
	if len(ids) > models.MaxBulkInstances {
		ids = ids[:models.MaxBulkInstances]
	}
	outcomes, err := h.Store.BulkInstanceAction(ctx, callerOf(ctx), action, ids)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var done, refused []string
	for _, o := range outcomes {
		if o.Err != nil {
			refused = append(refused, h.userMessage(r, o.Err))
		} else {
			done = append(done, o.Instance.Name)
		}
	}
	msg := ""
	if len(done) > 0 {
		msg = i18n.T(ctx, "Stop requested for %s.", strings.Join(done, ", "))
		if action == models.ActionDelete {
			msg = i18n.T(ctx, "Delete requested for %s.", strings.Join(done, ", "))
		}
	}
	if len(refused) > 0 {
		h.flashError(r, strings.TrimSpace(msg+" "+i18n.T(ctx, "Not possible for %d of %d: %s", len(refused), len(outcomes), strings.Join(refused, " "))))
	} else {
		h.flash(r, msg)
	}
	redirect(w, r, backTo(r))
}
