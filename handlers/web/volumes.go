package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
	"stratus/views/ui"
)

// volumes lists the project's volumes; while one changes, the results
// poll themselves.
func (h *Web) volumes(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	lq := readList(r, "/volumes", 50, "name")
	page, err := h.Store.ListVolumes(ctx, c, models.VolumeFilter{ListOptions: lq.options()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := h.volumesProps(r, page, lq, false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderPage(w, r, http.StatusOK, pages.VolumesPage(h.shell(r, i18n.T(r.Context(), "Volumes"), "volumes"), p), "volumes-results")
}

func (h *Web) volumesProps(r *http.Request, page models.Page[models.Volume], lq listQuery, admin bool) (pages.VolumesProps, error) {
	ctx := r.Context()
	c := callerOf(ctx)
	p := pages.VolumesProps{Rows: page.Items, Pager: lq.pager(page.NextMarker), CanCreate: h.allowed(ctx, "volume:create"),
		Admin: admin, CSRF: h.csrfToken(r), Now: h.Store.Now(), Here: r.URL.RequestURI(),
		Instances: map[string]string{}, Projects: map[string]string{}}
	var ids []string
	for _, v := range page.Items {
		if v.Status.InTransition() {
			p.Polling = true
		}
		if id := v.AttachedTo(); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		insts, err := h.Store.ListInstances(ctx, c, models.InstanceFilter{IDs: ids, AllProjects: admin,
			ListOptions: models.ListOptions{Limit: len(ids)}})
		if err != nil {
			return p, err
		}
		for _, i := range insts.Items {
			p.Instances[i.ID] = i.Name
		}
	}
	if admin {
		projects, err := h.Store.ListProjects(ctx, models.ListOptions{Limit: models.MaxPageSize})
		if err != nil {
			return p, err
		}
		for _, pr := range projects.Items {
			p.Projects[pr.ID] = pr.Name
		}
	}
	return p, nil
}

func (h *Web) newVolumePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	form := ui.NewForm(map[string]string{"source": "blank", "size_gb": "1"})
	if src := q.Get("source"); src == "image" || src == "snapshot" {
		form.Values["source"], form.Values["size_gb"] = src, ""
		form.Values["image_id"], form.Values["snapshot_id"] = q.Get("image_id"), q.Get("snapshot_id")
	}
	h.renderNewVolume(w, r, http.StatusOK, form)
}

func (h *Web) renderNewVolume(w http.ResponseWriter, r *http.Request, status int, form ui.Form) {
	ctx := r.Context()
	c := callerOf(ctx)
	p := pages.VolumeNewProps{Form: form}
	ims, err := h.Store.ListImages(ctx, c, models.ImageFilter{VolumeSource: true,
		ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Images = ims.Items
	snaps, err := h.Store.ListSnapshots(ctx, c, models.SnapshotFilter{Status: models.SnapshotAvailable,
		ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Snapshots = snaps.Items
	types, err := h.Store.ListVolumeTypes(ctx, c, models.ListOptions{Limit: models.MaxPageSize})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Types = types.Items
	if form.Get("volume_type") == "" {
		for _, t := range p.Types {
			if t.IsDefault {
				form.Values["volume_type"] = t.Name
			}
		}
		p.Form = form
	}
	quotas, err := h.Store.ProjectQuotas(ctx, c.ProjectID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, q := range quotas {
		if q.Resource == models.QuotaVolumes || q.Resource == models.QuotaGigabytes {
			p.Quotas = append(p.Quotas, quotaMeter(r.Context(), q))
		}
	}
	h.render(w, r, status, pages.VolumeNewPage(h.shell(r, i18n.T(r.Context(), "New volume"), "volumes"), p))
}

// createVolume creates the volume and shows its page, where the progress
// of an image being written is seen.
func (h *Web) createVolume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := ui.NewForm(map[string]string{})
	for _, k := range []string{"name", "description", "size_gb", "source", "image_id", "snapshot_id", "volume_type"} {
		form.Values[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	in := models.VolumeCreate{Name: form.Get("name"), Description: form.Get("description"), VolumeType: form.Get("volume_type")}
	if s := form.Get("size_gb"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			form.Errors["size_gb"] = i18n.T(r.Context(), "must be a whole number of GB")
		}
		in.SizeGB = n
	}
	switch form.Get("source") {
	case "image":
		if in.ImageID = form.Get("image_id"); in.ImageID == "" {
			form.Errors["image_id"] = i18n.T(r.Context(), "choose an image")
		}
	case "snapshot":
		if in.SnapshotID = form.Get("snapshot_id"); in.SnapshotID == "" {
			form.Errors["snapshot_id"] = i18n.T(r.Context(), "choose a snapshot")
		}
	case "blank", "":
	default:
		form.Errors["source"] = i18n.T(r.Context(), "choose blank, image or snapshot")
	}
	if form.HasErrors() {
		h.renderNewVolume(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	v, err := h.Store.CreateVolume(ctx, callerOf(ctx), in)
	if h.formFailed(r, err, &form) {
		h.renderNewVolume(w, r, httpStatus(err), form)
		return
	}
	if err != nil && httpStatus(err) == http.StatusForbidden {
		form.Error = h.userMessage(r, err) // over quota
		h.renderNewVolume(w, r, http.StatusForbidden, form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, i18n.T(r.Context(), "Volume %s is being created.", v.DisplayName()))
	redirect(w, r, "/volumes/"+v.ID)
}

// volume is one volume's page.
func (h *Web) volume(w http.ResponseWriter, r *http.Request) {
	h.renderVolume(w, r, http.StatusOK, ui.NewForm(nil))
}

func (h *Web) renderVolume(w http.ResponseWriter, r *http.Request, status int, snapForm ui.Form) {
	ctx := r.Context()
	c := callerOf(ctx)
	v, err := h.Store.GetVolume(ctx, c, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.VolumeDetailProps{Vol: v, CSRF: h.csrfToken(r), Here: "/volumes/" + v.ID, SnapshotForm: snapForm,
		CanAct:      h.allowed(ctx, "volume:attach") && v.ProjectID == c.ProjectID,
		CanDelete:   h.allowed(ctx, "volume:delete") && v.ProjectID == c.ProjectID,
		CanSnapshot: h.allowed(ctx, "volume:snapshot:create") && v.ProjectID == c.ProjectID}
	if id := v.AttachedTo(); id != "" {
		if inst, err := h.Store.GetInstance(ctx, c, id); err == nil {
			p.Instance = &inst
			p.CanDetach = p.CanAct && models.VolumeDetachAllowed(inst)
		}
		p.ForceDetach = h.allowed(ctx, "volume:force_detach")
	} else if v.Status == models.VolumeAvailable && p.CanAct {
		insts, err := h.Store.ListInstances(ctx, c, models.InstanceFilter{VolumeAttachable: true,
			ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.Attachable = insts.Items
	}
	snaps, err := h.Store.ListSnapshots(ctx, c, models.SnapshotFilter{VolumeID: v.ID, AllProjects: true,
		ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Snapshots = snaps.Items
	h.renderPage(w, r, status, pages.VolumeDetailPage(h.shell(r, v.DisplayName(), "volumes"), p), "volume-live")
}

// volumeBack is where a volume action returns: its "next" field when that
// is an instance or volume page, else the volume's page.
func volumeBack(r *http.Request, id string) string {
	next := safeNext(r.PostFormValue("next"))
	if strings.HasPrefix(next, "/instances/") || strings.HasPrefix(next, "/volumes") {
		return next
	}
	return "/volumes/" + id
}

func (h *Web) attachVolume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	_, err := h.Store.AttachVolume(ctx, callerOf(ctx), r.PostFormValue("instance"), id)
	h.finish(w, r, err, volumeBack(r, id), i18n.T(r.Context(), "Attaching the volume."))
}

// attachFromInstance attaches the volume chosen on an instance's page.
func (h *Web) attachFromInstance(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	inst := r.PostFormValue("instance")
	_, err := h.Store.AttachVolume(ctx, callerOf(ctx), inst, r.PostFormValue("volume"))
	back := safeNext(r.PostFormValue("next"))
	if !strings.HasPrefix(back, "/instances/") {
		back = "/instances/" + inst
	}
	h.finish(w, r, err, back, i18n.T(r.Context(), "Attaching the volume."))
}

func (h *Web) detachVolume(w http.ResponseWriter, r *http.Request) {
	h.detach(w, r, false)
}

func (h *Web) forceDetachVolume(w http.ResponseWriter, r *http.Request) {
	h.detach(w, r, true)
}

func (h *Web) detach(w http.ResponseWriter, r *http.Request, force bool) {
	ctx := r.Context()
	c := callerOf(ctx)
	id := chi.URLParam(r, "id")
	v, err := h.Store.GetVolume(ctx, c, id)
	if err == nil {
		if inst := v.AttachedTo(); inst == "" {
			err = &models.Error{Kind: models.ErrConflict, Msg: i18n.N("the volume is not attached")}
		} else {
			_, err = h.Store.DetachVolume(ctx, c, inst, v.ID, force)
		}
	}
	done := i18n.T(r.Context(), "Detaching the volume: the guest is asked to release it.")
	if force {
		done = i18n.T(r.Context(), "Volume force-detached.")
	}
	h.finish(w, r, err, volumeBack(r, id), done)
}

func (h *Web) extendVolume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("new_size_gb")))
	if err != nil {
		// Another project's volume is a 404 whatever the form says.
		if _, err := h.Store.GetVolume(ctx, callerOf(ctx), id); err != nil {
			h.fail(w, r, err)
			return
		}
		err = models.Invalid("new_size_gb", i18n.N("must be a whole number of GB"))
	} else {
		_, err = h.Store.ExtendVolume(ctx, callerOf(ctx), id, n)
	}
	h.finish(w, r, err, volumeBack(r, id), i18n.T(r.Context(), "Extending the volume to %s GB.", strconv.Itoa(n)))
}

func (h *Web) snapshotVolume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	form := ui.NewForm(map[string]string{"name": strings.TrimSpace(r.PostFormValue("name"))})
	_, err := h.Store.CreateSnapshot(ctx, callerOf(ctx), models.SnapshotCreate{VolumeID: id, Name: form.Get("name"),
		Force: r.PostFormValue("force") != ""})
	if fields := fieldErrors(r.Context(), err); fields != nil {
		for k, v := range fields {
			form.Errors[k] = v
		}
		h.renderVolume(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	if err != nil && httpStatus(err) == http.StatusForbidden {
		form.Error = h.userMessage(r, err) // over quota
		h.renderVolume(w, r, http.StatusForbidden, form)
		return
	}
	h.finish(w, r, err, "/volumes/"+id, i18n.T(r.Context(), "Taking snapshot %s.", form.Get("name")))
}

func (h *Web) deleteVolume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v, err := h.Store.DeleteVolume(ctx, callerOf(ctx), chi.URLParam(r, "id"))
	back := "/volumes"
	if err != nil && !slices.Contains([]int{http.StatusNotFound}, httpStatus(err)) {
		back = "/volumes/" + chi.URLParam(r, "id")
	}
	h.finish(w, r, err, back, i18n.T(r.Context(), "Volume %s is being deleted.", v.DisplayName()))
}

// snapshots lists the project's snapshots.
func (h *Web) snapshots(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	lq := readList(r, "/snapshots", 50)
	page, err := h.Store.ListSnapshots(ctx, c, models.SnapshotFilter{ListOptions: lq.options()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.SnapshotsProps{Rows: page.Items, Pager: lq.pager(page.NextMarker), CSRF: h.csrfToken(r), Now: h.Store.Now(),
		CanCreate: h.allowed(ctx, "volume:create"), CanDelete: h.allowed(ctx, "volume:snapshot:delete"),
		Here: r.URL.RequestURI(), Volumes: map[string]string{}}
	var ids []string
	for _, sn := range page.Items {
		if sn.Status.InTransition() {
			p.Polling = true
		}
		if !slices.Contains(ids, sn.VolumeID) {
			ids = append(ids, sn.VolumeID)
		}
	}
	// Only the volumes the page names, not every volume of the project.
	if len(ids) > 0 {
		vols, err := h.Store.ListVolumes(ctx, c, models.VolumeFilter{IDs: ids, ListOptions: models.ListOptions{Limit: len(ids)}})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, v := range vols.Items {
			p.Volumes[v.ID] = v.DisplayName()
		}
	}
	h.render(w, r, http.StatusOK, pages.SnapshotsPage(h.shell(r, i18n.T(r.Context(), "Snapshots"), "snapshots"), p))
}

func (h *Web) deleteSnapshot(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sn, err := h.Store.DeleteSnapshot(ctx, callerOf(ctx), chi.URLParam(r, "id"))
	back := safeNext(r.PostFormValue("next"))
	if !strings.HasPrefix(back, "/volumes") && !strings.HasPrefix(back, "/snapshots") {
		back = "/snapshots"
	}
	h.finish(w, r, err, back, i18n.T(r.Context(), "Snapshot %s is being deleted.", sn.DisplayName()))
}

// instanceVolumes is the volumes card of an instance's page.
func (h *Web) instanceVolumes(r *http.Request, inst models.Instance, here string) (pages.InstanceVolumesProps, error) {
	ctx := r.Context()
	c := callerOf(ctx)
	mayAttach := h.allowed(ctx, "volume:attach") && inst.ProjectID == c.ProjectID
	p := pages.InstanceVolumesProps{InstanceID: inst.ID, CSRF: h.csrfToken(r), Here: here,
		CanAttach: mayAttach && models.VolumeAttachAllowed(inst), CanDetach: mayAttach && models.VolumeDetachAllowed(inst)}
	vols, err := h.Store.InstanceVolumes(ctx, c, inst.ID)
	if err != nil {
		return p, err
	}
	p.Rows = vols
	if p.CanAttach {
		avail, err := h.Store.ListVolumes(ctx, c, models.VolumeFilter{Status: models.VolumeAvailable,
			ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
		if err != nil {
			return p, err
		}
		p.Attachable = avail.Items
	}
	return p, nil
}
