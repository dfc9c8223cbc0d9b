package compute

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

func (c *Compute) flavorView(r *http.Request, f models.Flavor, detail bool) map[string]any {
	v := versionOf(r)
	out := map[string]any{"id": f.ID, "name": f.Name, "links": c.links(r, "flavors", f.ID)}
	if v.AtLeast(2, 55) {
		out["description"] = nullable(f.Description)
	}
	if !detail {
		return out
	}
	out["ram"], out["vcpus"], out["disk"] = f.RAMMB, f.VCPUs, f.DiskGB
	out["OS-FLV-EXT-DATA:ephemeral"] = f.EphemeralGB
	out["OS-FLV-DISABLED:disabled"] = f.Disabled
	out["os-flavor-access:is_public"] = f.IsPublic
	out["rxtx_factor"] = 1.0
	out["swap"] = ""
	if v.AtLeast(2, 75) {
		out["swap"] = 0
	}
	if v.AtLeast(2, 61) {
		specs := f.ExtraSpecs
		if specs == nil {
			specs = map[string]string{}
		}
		out["extra_specs"] = specs
	}
	return out
}

// listFlavorsOf applies Nova's flavor filters: is_public (operators:
// "none" lists every flavor), minRam, minDisk, and marker/limit paging.
func (c *Compute) listFlavorsOf(w http.ResponseWriter, r *http.Request, caller *models.Caller, detail bool) error {
	q := service.QueryOf(r)
	isPublic := strings.ToLower(q.Get("is_public"))
	all := caller.IsSystemAdmin() && (isPublic == "none" || isPublic == "")
	flavors, err := c.Store.ListFlavors(r.Context(), *caller, all && isPublic == "none")
	if err != nil {
		return err
	}
	minRAM, err := q.Int("minRam", 0, 0, 1<<30)
	if err != nil {
		return err
	}
	minDisk, err := q.Int("minDisk", 0, 0, 1<<30)
	if err != nil {
		return err
	}
	limit, err := q.Int("limit", models.MaxPageSize, 0, 1<<30)
	if err != nil {
		return err
	}
	marker := q.Get("marker")
	out := []map[string]any{}
	seenMarker := marker == ""
	next := ""
	for _, f := range flavors {
		if !seenMarker {
			seenMarker = f.ID == marker
			continue
		}
		if f.RAMMB < minRAM || f.DiskGB < minDisk {
			continue
		}
		if (isPublic == "true" || isPublic == "1") && !f.IsPublic || (isPublic == "false" || isPublic == "0") && f.IsPublic {
			continue
		}
		if limit > 0 && len(out) == limit {
			next = f.ID
			break
		}
		out = append(out, c.flavorView(r, f, detail))
	}
	if !seenMarker {
		return service.BadRequest("marker [" + marker + "] not found")
	}
	body := map[string]any{"flavors": out}
	if next != "" && len(out) > 0 {
		body["flavors_links"] = c.NextLinks(r, out[len(out)-1]["id"].(string), 0)
	}
	service.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (c *Compute) listFlavors(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	return c.listFlavorsOf(w, r, caller, false)
}

func (c *Compute) listFlavorsDetail(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	return c.listFlavorsOf(w, r, caller, true)
}

func (c *Compute) findFlavor(r *http.Request, caller *models.Caller) (models.Flavor, error) {
	id := chi.URLParam(r, "id")
	f, err := c.Store.GetFlavor(r.Context(), *caller, id)
	if errors.Is(err, models.ErrNotFound) {
		return f, service.NotFound("Flavor " + id + " could not be found.")
	}
	return f, err
}

func (c *Compute) getFlavor(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	f, err := c.findFlavor(r, caller)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"flavor": c.flavorView(r, f, true)})
	return nil
}

// createFlavor is POST /flavors (operators). Stratus chooses flavor IDs
// (UUIDs) and has no swap disks.
func (c *Compute) createFlavor(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	var in struct {
		Flavor struct {
			Name        string  `json:"name"`
			RAM         int     `json:"ram"`
			VCPUs       int     `json:"vcpus"`
			Disk        int     `json:"disk"`
			ID          *string `json:"id"`
			Ephemeral   int     `json:"OS-FLV-EXT-DATA:ephemeral"`
			Swap        any     `json:"swap"`
			IsPublic    *bool   `json:"os-flavor-access:is_public"`
			Description string  `json:"description"`
		} `json:"flavor"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	f := in.Flavor
	if f.ID != nil && *f.ID != "" && *f.ID != "auto" {
		return service.BadRequest("Stratus chooses flavor IDs: leave id out.")
	}
	switch sw := f.Swap.(type) {
	case nil, string:
		if sw != nil && sw != "" && sw != "0" {
			return service.BadRequest("Stratus flavors have no swap disk: swap must be 0.")
		}
	case float64:
		if sw != 0 {
			return service.BadRequest("Stratus flavors have no swap disk: swap must be 0.")
		}
	}
	flavor, err := c.Store.CreateFlavor(r.Context(), *caller, models.FlavorInput{Name: f.Name, Description: f.Description,
		VCPUs: f.VCPUs, RAMMB: f.RAM, DiskGB: f.Disk, EphemeralGB: f.Ephemeral, IsPublic: f.IsPublic})
	if err != nil {
		var ve *models.ValidationError
		if errors.As(err, &ve) && strings.HasSuffix(ve.Fields["name"], " exists") {
			return &service.HTTPError{Status: http.StatusConflict, Message: "Flavor with name " + f.Name + " already exists."}
		}
		return renameFields(err, map[string]string{"ram_mb": "ram", "disk_gb": "disk", "ephemeral_gb": "OS-FLV-EXT-DATA:ephemeral"})
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"flavor": c.flavorView(r, flavor, true)})
	return nil
}

// renameFields names a model's fields as the facade's input calls them.
func renameFields(err error, names map[string]string) error {
	var ve *models.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	fields := make(map[string]string, len(ve.Fields))
	for k, v := range ve.Fields {
		if n, ok := names[k]; ok {
			k = n
		}
		fields[k] = v
	}
	return &models.ValidationError{Fields: fields}
}

// updateFlavor is PUT /flavors/{id} (2.55): the description only.
func (c *Compute) updateFlavor(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	if err := needs(r, 2, 55); err != nil {
		return err
	}
	f, err := c.findFlavor(r, caller)
	if err != nil {
		return err
	}
	var in struct {
		Flavor struct {
			Description *string `json:"description"`
		} `json:"flavor"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	if in.Flavor.Description == nil {
		return service.BadRequest("Invalid input for field/attribute flavor.description: it is required.")
	}
	if f, err = c.Store.UpdateFlavor(r.Context(), *caller, f.ID, models.FlavorUpdate{Description: in.Flavor.Description}); err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"flavor": c.flavorView(r, f, true)})
	return nil
}

func (c *Compute) deleteFlavor(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	f, err := c.findFlavor(r, caller)
	if err != nil {
		return err
	}
	if err := c.Store.DeleteFlavor(r.Context(), *caller, f.ID); err != nil {
		return err
	}
	service.Empty(w, http.StatusAccepted)
	return nil
}

func (c *Compute) flavorExtraSpecs(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	f, err := c.findFlavor(r, caller)
	if err != nil {
		return err
	}
	specs := f.ExtraSpecs
	if specs == nil {
		specs = map[string]string{}
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"extra_specs": specs})
	return nil
}

func (c *Compute) writeFlavorAccess(w http.ResponseWriter, r *http.Request, f models.Flavor) error {
	if f.IsPublic {
		return service.NotFound("Access list not available for public flavors.")
	}
	projects, err := c.Store.FlavorProjects(r.Context(), f.ID)
	if err != nil {
		return err
	}
	out := make([]map[string]string, len(projects))
	for i, p := range projects {
		out[i] = map[string]string{"flavor_id": f.ID, "tenant_id": p}
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"flavor_access": out})
	return nil
}

func (c *Compute) flavorAccess(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	f, err := c.findFlavor(r, caller)
	if err != nil {
		return err
	}
	return c.writeFlavorAccess(w, r, f)
}

// flavorAction is POST /flavors/{id}/action: addTenantAccess and
// removeTenantAccess of a private flavor.
func (c *Compute) flavorAction(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	f, err := c.findFlavor(r, caller)
	if err != nil {
		return err
	}
	var body map[string]json.RawMessage
	if err := service.Decode(w, r, &body); err != nil {
		return err
	}
	var up models.FlavorUpdate
	for name, arg := range body {
		var a struct {
			Tenant string `json:"tenant"`
		}
		if err := json.Unmarshal(arg, &a); err != nil || a.Tenant == "" {
			return service.BadRequest("Invalid input for field/attribute " + name + ".tenant: it is required.")
		}
		switch name {
		case "addTenantAccess":
			up.AddProjects = append(up.AddProjects, a.Tenant)
		case "removeTenantAccess":
			up.RemoveProject = append(up.RemoveProject, a.Tenant)
		default:
			return service.BadRequest("There is no such action: " + name)
		}
	}
	if f.IsPublic {
		return &service.HTTPError{Status: http.StatusConflict, Message: "Can not add access to a public flavor."}
	}
	if f, err = c.Store.UpdateFlavor(r.Context(), *caller, f.ID, up); err != nil {
		var ve *models.ValidationError
		if errors.As(err, &ve) {
			return service.BadRequest("Project not found: " + strconv.Quote(strings.Join(append(up.AddProjects, up.RemoveProject...), ", ")))
		}
		return err
	}
	return c.writeFlavorAccess(w, r, f)
}
