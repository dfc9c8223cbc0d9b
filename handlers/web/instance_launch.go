package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"stratus/models"
	"stratus/views/pages"
	"stratus/views/ui"
)

func (h *Web) launchPage(w http.ResponseWriter, r *http.Request) {
	form := ui.NewForm(map[string]string{"count": "1"})
	if im := r.URL.Query().Get("image"); models.IsUUID(im) {
		form.Values["image"] = im
	}
	h.renderLaunch(w, r, http.StatusOK, form)
}

// renderLaunch shows the launch form with what the project may use: active
// bootable images, enabled flavors (each marked with whether it fits the
// remaining quota), key pairs, server groups and zones.
func (h *Web) renderLaunch(w http.ResponseWriter, r *http.Request, status int, form ui.Form) {
	ctx := r.Context()
	c := callerOf(ctx)
	images, err := h.Store.ListImages(ctx, c, models.ImageFilter{Status: models.ImageActive, ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	flavors, err := h.Store.ListFlavors(ctx, c, false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	quotas, err := h.Store.ProjectQuotas(ctx, c.ProjectID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	keys, err := h.Store.ListKeyPairs(ctx, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	groups, err := h.Store.ListServerGroups(ctx, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	zones, err := h.Store.AvailabilityZones(ctx, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.LaunchProps{Form: form, KeyPairs: keys, ServerGroups: groups, Zones: zones,
		MaxUserData: models.MaxUserDataBytes, MaxCount: models.MaxInstancesPerRequest}
	for _, im := range images.Items {
		// Kernels and ramdisks boot only as parts of a disk image.
		if im.DiskFormat != models.FormatAKI && im.DiskFormat != models.FormatARI {
			p.Images = append(p.Images, im)
		}
	}
	free := map[string]int64{}
	for _, q := range quotas {
		free[q.Resource] = q.Free()
		switch q.Resource {
		case models.QuotaInstances, models.QuotaVCPUs, models.QuotaRAMMB:
			p.Quotas = append(p.Quotas, quotaMeter(q))
		}
	}
	for _, f := range flavors {
		fits, why := flavorFits(f, free)
		p.Flavors = append(p.Flavors, pages.FlavorChoice{Flavor: f, Fits: fits, Reason: why})
	}
	h.render(w, r, status, pages.LaunchPage(h.shell(r, "Launch instances", "instances"), p))
}

// flavorFits says whether one more instance of f fits the quota left, and
// if not, why.
func flavorFits(f models.Flavor, free map[string]int64) (bool, string) {
	switch {
	case free[models.QuotaInstances] < 1:
		return false, "The project's instance quota is used up."
	case free[models.QuotaVCPUs] < int64(f.VCPUs):
		return false, "Needs " + strconv.Itoa(f.VCPUs) + " vCPUs; the quota has " + strconv.FormatInt(free[models.QuotaVCPUs], 10) + " left."
	case free[models.QuotaRAMMB] < int64(f.RAMMB):
		return false, "Needs " + pages.MB(f.RAMMB) + " of RAM; the quota has " + pages.MB(int(free[models.QuotaRAMMB])) + " left."
	}
	return true, ""
}

func quotaMeter(q models.QuotaLine) pages.QuotaMeter {
	label, unit := pages.QuotaLabel(q.Resource)
	return pages.QuotaMeter{Resource: q.Resource, Label: label, Unit: unit, Used: q.Used, Limit: q.Limit}
}

// launchFields are the launch form's fields, as the form names them.
var launchFields = []string{"name", "image", "flavor", "keypair", "count", "availability_zone", "server_group", "user_data"}

// launch creates the instances and goes to the list, where their rows
// follow the build live. Errors come back beside their fields, with what
// was typed kept.
func (h *Web) launch(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := ui.NewForm(nil)
	for _, k := range launchFields {
		form.Values[k] = r.PostFormValue(k)
	}
	form.Values["name"] = strings.TrimSpace(form.Values["name"])
	count, err := strconv.Atoi(strings.TrimSpace(form.Get("count")))
	if err != nil || count < 1 {
		// Not a number, or 0 (which the model reads as "not given"): let
		// the model say what it must be, with the other fields' errors.
		count = -1
	}
	insts, err := h.Store.CreateInstances(ctx, callerOf(ctx), models.InstanceCreate{
		Name: form.Get("name"), Image: form.Get("image"), Flavor: form.Get("flavor"), KeyPair: form.Get("keypair"),
		Count: count, AvailabilityZone: form.Get("availability_zone"), ServerGroup: form.Get("server_group"),
		UserData: form.Get("user_data"),
	})
	if fields := fieldErrors(err); fields != nil {
		for k, v := range fields {
			if _, ok := form.Values[k]; ok {
				form.Errors[k] = v
			} else {
				form.Error = v // e.g. "project": no current project
			}
		}
		h.renderLaunch(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	if errors.Is(err, models.ErrQuotaExceeded) || errors.Is(err, models.ErrConflict) {
		form.Error = h.userMessage(r, err)
		h.renderLaunch(w, r, httpStatus(err), form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names := make([]string, len(insts))
	for i, inst := range insts {
		names[i] = inst.Name
	}
	h.flash(r, "Launching "+strings.Join(names, ", ")+".")
	redirect(w, r, "/instances")
}
