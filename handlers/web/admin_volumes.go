package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
	"stratus/views/ui"
)

// adminVolumes is the operators' storage page: the backends with their
// capacity, the volume types, and every project's volumes.
func (h *Web) adminVolumes(w http.ResponseWriter, r *http.Request) {
	h.renderAdminVolumes(w, r, http.StatusOK, ui.NewForm(nil))
}

func (h *Web) renderAdminVolumes(w http.ResponseWriter, r *http.Request, status int, form ui.Form) {
	ctx := r.Context()
	c := callerOf(ctx)
	backends, err := h.Store.ListVolumeBackends(ctx, models.ListOptions{Limit: models.MaxPageSize})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	types, err := h.Store.ListVolumeTypes(ctx, c, models.ListOptions{Limit: models.MaxPageSize})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lq := readList(r, "/admin/volumes", adminPageSize, "name")
	page, err := h.Store.ListVolumes(ctx, c, models.VolumeFilter{ListOptions: lq.options(), AllProjects: true})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	vp, err := h.volumesProps(r, page, lq, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.AdminVolumesProps{Backends: backends.Items, Types: types.Items, Volumes: vp, TypeForm: form, CSRF: h.csrfToken(r)}
	h.renderPage(w, r, status, pages.AdminVolumesPage(h.shell(r, i18n.T(r.Context(), "Volumes"), "admin-volumes"), p), "volumes-results")
}

func (h *Web) createVolumeType(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := ui.NewForm(map[string]string{
		"name":    strings.TrimSpace(r.PostFormValue("name")),
		"backend": strings.TrimSpace(r.PostFormValue("backend")),
	})
	name, backend, isDefault := form.Get("name"), form.Get("backend"), r.PostFormValue("is_default") != ""
	t, err := h.Store.CreateVolumeType(ctx, callerOf(ctx), models.VolumeTypeInput{Name: &name, Backend: &backend, IsDefault: &isDefault})
	if h.formFailed(r, err, &form) {
		h.renderAdminVolumes(w, r, httpStatus(err), form)
		return
	}
	h.finish(w, r, err, "/admin/volumes", i18n.T(r.Context(), "Volume type %s created.", t.Name))
}

func (h *Web) deleteVolumeType(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	err := h.Store.DeleteVolumeType(ctx, callerOf(ctx), chi.URLParam(r, "id"))
	h.finish(w, r, err, "/admin/volumes", i18n.T(r.Context(), "Volume type deleted."))
}
