// Package volume is the facade's Block Storage v3 (Cinder): volumes,
// snapshots, volume types, limits and quotas, under
// /volume/v3/{project_id} — translated to Stratus' block storage model,
// whose resources and statuses already carry Cinder's names.
package volume

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// Prefix is where the block storage API is served.
const Prefix = "/volume"

// MaxVersion is the newest microversion the version document advertises.
// Stratus' answers carry the fields of 3.0 plus those later versions added
// that it has (volume_type_id, attachment IDs), which clients of any 3.x
// read.
const MaxVersion = "3.60"

// Volume serves the Block Storage v3 API.
type Volume struct {
	service.Deps
}

// New builds the block storage service.
func New(d service.Deps) *service.Service {
	v := &Volume{Deps: d}
	return &service.Service{Deps: d, Prefix: Prefix, Shape: errorShape, Routes: v.routes(), QuotaStatus: http.StatusRequestEntityTooLarge}
}

// errorShape is Cinder's (the same as Nova's): {"itemNotFound": {"code",
// "message"}}.
func errorShape(status int, message string) any {
	name := map[int]string{
		400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "badMethod",
		409: "conflictingRequest", 413: "overLimit", 415: "badMediaType", 503: "serviceUnavailable",
	}[status]
	if name == "" {
		name = "computeFault"
	}
	return map[string]any{name: map[string]any{"code": status, "message": message}}
}

func (v *Volume) routes() []service.Route {
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	R := service.R
	const p = "/v3/{project_id}"
	return []service.Route{
		R(get, "/", "openstack:versions", "Block Storage API versions", v.versions),
		R(get, "/v3", "openstack:versions", "Block Storage v3 version document", v.version),

		R(get, p+"/volumes", "volume:list", "List volumes (id, name, links)", v.listVolumes),
		R(get, p+"/volumes/detail", "volume:list", "List volumes with details", v.listVolumesDetail),
		R(post, p+"/volumes", "volume:create", "Create a volume (blank, from imageRef, snapshot_id or source_volid)", v.createVolume),
		R(get, p+"/volumes/{id}", "volume:get", "Show a volume", v.getVolume),
		R(put, p+"/volumes/{id}", "volume:update", "Rename a volume or change its description", v.updateVolume),
		R(del, p+"/volumes/{id}", "volume:delete", "Delete a volume", v.deleteVolume),
		R(post, p+"/volumes/{id}/action", "volume:get", "Volume actions: os-extend; os-force_detach (operators)", v.volumeAction),

		R(get, p+"/snapshots", "volume:snapshot:list", "List snapshots", v.listSnapshots),
		R(get, p+"/snapshots/detail", "volume:snapshot:list", "List snapshots with details", v.listSnapshots),
		R(post, p+"/snapshots", "volume:snapshot:create", "Create a snapshot (force for an in-use volume)", v.createSnapshot),
		R(get, p+"/snapshots/{id}", "volume:snapshot:get", "Show a snapshot", v.getSnapshot),
		R(put, p+"/snapshots/{id}", "volume:snapshot:update", "Rename a snapshot or change its description", v.updateSnapshot),
		R(del, p+"/snapshots/{id}", "volume:snapshot:delete", "Delete a snapshot", v.deleteSnapshot),

		R(get, p+"/types", "volume:type:list", "List volume types", v.listTypes),
		R(get, p+"/types/default", "volume:type:list", "Show the default volume type", v.defaultType),
		R(get, p+"/types/{id}", "volume:type:get", "Show a volume type", v.getType),
		R(post, p+"/types", "volume:type:create", "Create a volume type (operators)", v.createType),
		R(del, p+"/types/{id}", "volume:type:delete", "Delete a volume type (operators)", v.deleteType),

		R(get, p+"/limits", "volume:list", "The project's absolute limits and use", v.limits),
		R(get, p+"/os-quota-sets/{project}", "compute:usage", "A project's block storage quotas", v.quotaSet),
		R(del, p+"/os-quota-sets/{project}", "compute:quota:update", "Delete a project's block storage quotas: they revert to the defaults (200, no body)", v.deleteQuotaSet),
		R(get, p+"/os-availability-zone", "volume:list", "Availability zones of the volume backends", v.zones),
	}
}

func (v *Volume) versions(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	service.WriteJSON(w, http.StatusMultipleChoices, map[string]any{"versions": []any{v.versionDoc(r)}})
	return nil
}

func (v *Volume) version(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	service.WriteJSON(w, http.StatusOK, map[string]any{"versions": []any{v.versionDoc(r)}})
	return nil
}

func (v *Volume) versionDoc(r *http.Request) map[string]any {
	return map[string]any{"id": "v3.0", "status": "CURRENT", "version": MaxVersion, "min_version": "3.0",
		"updated": "2023-01-01T00:00:00Z",
		"links":   []map[string]string{{"rel": "self", "href": v.BaseURL(r) + Prefix + "/v3/"}},
		"media-types": []map[string]string{{"base": "application/json",
			"type": "application/vnd.openstack.volume+json;version=3"}}}
}

// scope checks the project in the path: a member works in their own
// project; an operator may name any (their views are not narrowed by it,
// except where a list asks for all_tenants).
func scope(r *http.Request, c *models.Caller) error {
	p := chi.URLParam(r, "project_id")
	if p == c.ProjectID || c.IsSystemAdmin() {
		return nil
	}
	return service.Forbidden("The project in the URL is not the project of your token.")
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

func (v *Volume) link(r *http.Request, projectID, kind, id string) []map[string]string {
	base := v.BaseURL(r) + Prefix
	return []map[string]string{
		{"rel": "self", "href": base + "/v3/" + projectID + "/" + kind + "/" + id},
		{"rel": "bookmark", "href": base + "/" + projectID + "/" + kind + "/" + id},
	}
}

// volumeView is Cinder's volume. "bootable" is a string in Cinder.
func (v *Volume) volumeView(r *http.Request, c *models.Caller, vol models.Volume) map[string]any {
	atts := make([]map[string]any, 0, len(vol.Attachments))
	for _, a := range vol.Attachments {
		at := any(nil)
		if a.AttachedAt != nil {
			at = stamp(*a.AttachedAt)
		}
		atts = append(atts, map[string]any{"id": vol.ID, "attachment_id": a.ID, "volume_id": vol.ID, "server_id": a.InstanceID,
			"host_name": nil, "device": "/dev/" + a.Device, "attached_at": at})
	}
	meta := map[string]string{}
	out := map[string]any{
		"id": vol.ID, "name": vol.Name, "description": vol.Description, "size": vol.SizeGB, "status": string(vol.Status),
		"availability_zone": vol.AvailabilityZone, "volume_type": vol.VolumeTypeName, "volume_type_id": vol.VolumeTypeID,
		"snapshot_id": nullable(vol.SourceSnapshotID), "source_volid": nullable(vol.SourceVolumeID),
		"bootable": strconv.FormatBool(vol.Bootable), "encrypted": false, "multiattach": false, "metadata": meta,
		"attachments": atts, "user_id": vol.UserID, "os-vol-tenant-attr:tenant_id": vol.ProjectID,
		"replication_status": nil, "consistencygroup_id": nil, "group_id": nil,
		"created_at": stamp(vol.CreatedAt), "updated_at": stamp(vol.UpdatedAt),
		"links": v.link(r, vol.ProjectID, "volumes", vol.ID),
	}
	if len(vol.ImageMeta) > 0 {
		out["volume_image_metadata"] = vol.ImageMeta
	}
	if c.IsSystemAdmin() {
		out["os-vol-host-attr:host"] = vol.Backend + "@" + vol.Backend + "#" + vol.Backend
	}
	if vol.FaultMessage != "" {
		// Not Cinder's (it keeps messages apart, in /messages); a client
		// that does not know it ignores it.
		out["fault_message"] = vol.FaultMessage
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// listFilter reads Cinder's list query: name, status, paging and, for
// operators, all_tenants and project_id.
func (v *Volume) listFilter(r *http.Request, c *models.Caller) (models.VolumeFilter, error) {
	q := service.QueryOf(r)
	limit, err := q.Limit(models.MaxPageSize)
	if err != nil {
		return models.VolumeFilter{}, err
	}
	f := models.VolumeFilter{ListOptions: models.ListOptions{Limit: limit, Marker: q.Get("marker"), ExactName: []string{q.Get("name")}},
		Status: models.VolumeStatus(q.Get("status"))}
	if q.Bool("all_tenants") || r.URL.Query().Has("all_tenants") && q.Get("all_tenants") == "" {
		if !v.Policy.Allowed(c, "volume:list_all") {
			return f, service.Forbidden("Policy doesn't allow volume:get_all_tenants to be performed.")
		}
		f.AllProjects, f.ProjectID = true, q.Get("project_id")
	}
	return f, nil
}

func (v *Volume) list(w http.ResponseWriter, r *http.Request, c *models.Caller, detail bool) error {
	if err := scope(r, c); err != nil {
		return err
	}
	f, err := v.listFilter(r, c)
	if err != nil {
		return err
	}
	page, err := v.Store.ListVolumes(r.Context(), *c, f)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(page.Items))
	for _, vol := range page.Items {
		if detail {
			out = append(out, v.volumeView(r, c, vol))
		} else {
			out = append(out, map[string]any{"id": vol.ID, "name": vol.Name, "links": v.link(r, vol.ProjectID, "volumes", vol.ID)})
		}
	}
	v.writeList(w, r, "volumes", out, page.NextMarker, f.Limit)
	return nil
}

// writeList renders a collection with Cinder's next link (<collection>_links)
// when there is a next page; the next page keeps the request's filters.
func (v *Volume) writeList(w http.ResponseWriter, r *http.Request, collection string, items []map[string]any, next string, limit int) {
	body := map[string]any{collection: items}
	if next != "" {
		body[collection+"_links"] = v.NextLinks(r, next, limit)
	}
	service.WriteJSON(w, http.StatusOK, body)
}

func (v *Volume) listVolumes(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	return v.list(w, r, c, false)
}

func (v *Volume) listVolumesDetail(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	return v.list(w, r, c, true)
}

func (v *Volume) createVolume(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	var in struct {
		Volume struct {
			Name             string  `json:"name"`
			Description      string  `json:"description"`
			Size             *int    `json:"size"`
			VolumeType       *string `json:"volume_type"`
			AvailabilityZone *string `json:"availability_zone"`
			ImageRef         *string `json:"imageRef"`
			SnapshotID       *string `json:"snapshot_id"`
			SourceVolID      *string `json:"source_volid"`
			Multiattach      bool    `json:"multiattach"`
		} `json:"volume"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	b := in.Volume
	if b.Multiattach {
		return service.BadRequest("Invalid input for field/attribute multiattach: Stratus volumes attach to one instance at a time.")
	}
	vc := models.VolumeCreate{Name: b.Name, Description: b.Description, VolumeType: deref(b.VolumeType),
		AvailabilityZone: deref(b.AvailabilityZone), ImageID: deref(b.ImageRef), SnapshotID: deref(b.SnapshotID),
		SourceVolID: deref(b.SourceVolID)}
	if b.Size != nil {
		vc.SizeGB = *b.Size
		if vc.SizeGB <= 0 {
			return service.BadRequest("Invalid input for field/attribute size: it must be a positive integer.")
		}
	}
	vol, err := v.Store.CreateVolume(r.Context(), *c, vc)
	if err != nil {
		return renameFields(err)
	}
	service.WriteJSON(w, http.StatusAccepted, map[string]any{"volume": v.volumeView(r, c, vol)})
	return nil
}

// renameFields turns Stratus' field names into Cinder's in a validation
// error.
func renameFields(err error) error {
	ve, ok := err.(*models.ValidationError)
	if !ok {
		return err
	}
	names := map[string]string{"size_gb": "size", "image_id": "imageRef"}
	out := &models.ValidationError{Fields: map[string]string{}}
	for k, msg := range ve.Fields {
		if n, ok := names[k]; ok {
			k = n
		}
		out.Fields[k] = msg
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (v *Volume) getVolume(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	vol, err := v.Store.GetVolume(r.Context(), *c, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"volume": v.volumeView(r, c, vol)})
	return nil
}

func (v *Volume) updateVolume(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	var in struct {
		Volume models.VolumeUpdate `json:"volume"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	vol, err := v.Store.UpdateVolume(r.Context(), *c, chi.URLParam(r, "id"), in.Volume)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"volume": v.volumeView(r, c, vol)})
	return nil
}

func (v *Volume) deleteVolume(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	if _, err := v.Store.DeleteVolume(r.Context(), *c, chi.URLParam(r, "id")); err != nil {
		return err
	}
	service.Empty(w, http.StatusAccepted)
	return nil
}

// volumeAction is POST /volumes/{id}/action: os-extend {"new_size"}, and
// for operators os-force_detach {"attachment_id"}.
func (v *Volume) volumeAction(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	var in struct {
		Extend *struct {
			NewSize int `json:"new_size"`
		} `json:"os-extend"`
		ForceDetach *struct {
			AttachmentID string `json:"attachment_id"`
		} `json:"os-force_detach"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	switch {
	case in.Extend != nil:
		if !v.Policy.Allowed(c, "volume:extend") {
			return service.Forbidden("Policy doesn't allow volume:extend to be performed.")
		}
		if _, err := v.Store.ExtendVolume(r.Context(), *c, id, in.Extend.NewSize); err != nil {
			if ve, ok := err.(*models.ValidationError); ok {
				return service.BadRequest("Invalid input for field/attribute new_size: " + ve.Fields["new_size_gb"])
			}
			return err
		}
	case in.ForceDetach != nil:
		if !v.Policy.Allowed(c, "volume:force_detach") {
			return service.Forbidden("Policy doesn't allow volume:force_detach to be performed.")
		}
		vol, err := v.Store.GetVolume(r.Context(), *c, id)
		if err != nil {
			return err
		}
		inst := vol.AttachedTo()
		if inst == "" {
			return service.BadRequest("The volume is not attached.")
		}
		if _, err := v.Store.DetachVolume(r.Context(), *c, inst, vol.ID, true); err != nil {
			return err
		}
	default:
		if _, err := v.Store.GetVolume(r.Context(), *c, id); err != nil {
			return err
		}
		return service.BadRequest("Stratus knows the volume actions os-extend and os-force_detach.")
	}
	service.Empty(w, http.StatusAccepted)
	return nil
}

func (v *Volume) snapshotView(r *http.Request, sn models.Snapshot) map[string]any {
	return map[string]any{"id": sn.ID, "name": sn.Name, "description": sn.Description, "volume_id": sn.VolumeID,
		"size": sn.SizeGB, "status": string(sn.Status), "metadata": map[string]string{},
		"created_at": stamp(sn.CreatedAt), "updated_at": stamp(sn.UpdatedAt),
		"os-extended-snapshot-attributes:project_id": sn.ProjectID, "os-extended-snapshot-attributes:progress": progress(sn),
		"links": v.link(r, sn.ProjectID, "snapshots", sn.ID)}
}

func progress(sn models.Snapshot) string {
	if sn.Status == models.SnapshotAvailable {
		return "100%"
	}
	return "0%"
}

func (v *Volume) listSnapshots(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	q := service.QueryOf(r)
	limit, err := q.Limit(models.MaxPageSize)
	if err != nil {
		return err
	}
	page, err := v.Store.ListSnapshots(r.Context(), *c, models.SnapshotFilter{VolumeID: q.Get("volume_id"),
		ListOptions: models.ListOptions{Limit: limit, Marker: q.Get("marker"), ExactName: []string{q.Get("name")}}})
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(page.Items))
	for _, sn := range page.Items {
		out = append(out, v.snapshotView(r, sn))
	}
	v.writeList(w, r, "snapshots", out, page.NextMarker, limit)
	return nil
}

func (v *Volume) createSnapshot(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	var in struct {
		Snapshot struct {
			VolumeID    string `json:"volume_id"`
			Name        string `json:"name"`
			Description string `json:"description"`
			Force       any    `json:"force"` // a bool, or "true"/"false" from older clients
		} `json:"snapshot"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	b := in.Snapshot
	force := false
	switch f := b.Force.(type) {
	case bool:
		force = f
	case string:
		force = strings.EqualFold(f, "true")
	}
	sn, err := v.Store.CreateSnapshot(r.Context(), *c, models.SnapshotCreate{VolumeID: b.VolumeID, Name: b.Name,
		Description: b.Description, Force: force})
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusAccepted, map[string]any{"snapshot": v.snapshotView(r, sn)})
	return nil
}

func (v *Volume) getSnapshot(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	sn, err := v.Store.GetSnapshot(r.Context(), *c, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"snapshot": v.snapshotView(r, sn)})
	return nil
}

func (v *Volume) updateSnapshot(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	var in struct {
		Snapshot struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
		} `json:"snapshot"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	sn, err := v.Store.UpdateSnapshot(r.Context(), *c, chi.URLParam(r, "id"), in.Snapshot.Name, in.Snapshot.Description)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"snapshot": v.snapshotView(r, sn)})
	return nil
}

func (v *Volume) deleteSnapshot(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	if _, err := v.Store.DeleteSnapshot(r.Context(), *c, chi.URLParam(r, "id")); err != nil {
		return err
	}
	service.Empty(w, http.StatusAccepted)
	return nil
}

func typeView(t models.VolumeType) map[string]any {
	specs := map[string]string{}
	if t.Backend != "" {
		specs["volume_backend_name"] = t.Backend
	}
	return map[string]any{"id": t.ID, "name": t.Name, "description": t.Description, "is_public": t.IsPublic,
		"os-volume-type-access:is_public": t.IsPublic, "extra_specs": specs, "qos_specs_id": nil}
}

func (v *Volume) listTypes(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	page, err := v.Store.ListVolumeTypes(r.Context(), *c, models.ListOptions{Limit: models.MaxPageSize})
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(page.Items))
	for i, t := range page.Items {
		out[i] = typeView(t)
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"volume_types": out})
	return nil
}

func (v *Volume) defaultType(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	page, err := v.Store.ListVolumeTypes(r.Context(), *c, models.ListOptions{Limit: models.MaxPageSize})
	if err != nil {
		return err
	}
	for _, t := range page.Items {
		if t.IsDefault {
			service.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": typeView(t)})
			return nil
		}
	}
	return service.NotFound("There is no default volume type.")
}

func (v *Volume) getType(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	t, err := v.Store.GetVolumeType(r.Context(), *c, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": typeView(t)})
	return nil
}

func (v *Volume) createType(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	var in struct {
		VolumeType struct {
			Name        string            `json:"name"`
			Description string            `json:"description"`
			IsPublic    *bool             `json:"os-volume-type-access:is_public"`
			ExtraSpecs  map[string]string `json:"extra_specs"`
		} `json:"volume_type"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	b := in.VolumeType
	backend := b.ExtraSpecs["volume_backend_name"]
	t, err := v.Store.CreateVolumeType(r.Context(), *c, models.VolumeTypeInput{Name: &b.Name, Description: &b.Description,
		Backend: &backend, IsPublic: b.IsPublic})
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"volume_type": typeView(t)})
	return nil
}

func (v *Volume) deleteType(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	if err := v.Store.DeleteVolumeType(r.Context(), *c, chi.URLParam(r, "id")); err != nil {
		return err
	}
	service.Empty(w, http.StatusAccepted)
	return nil
}

// blockStorageQuotas are the resources Cinder's quota sets limit.
func blockStorageQuotas() []string {
	return []string{models.QuotaVolumes, models.QuotaGigabytes, models.QuotaSnapshots}
}

// quotaLines reads the block storage part of a project's quotas.
func (v *Volume) quotaLines(r *http.Request, projectID string) (map[string]models.QuotaLine, error) {
	lines, err := v.Store.ProjectQuotas(r.Context(), projectID)
	if err != nil {
		return nil, err
	}
	out := map[string]models.QuotaLine{}
	for _, l := range lines {
		out[l.Resource] = l
	}
	return out, nil
}

func (v *Volume) limits(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	q, err := v.quotaLines(r, c.ProjectID)
	if err != nil {
		return err
	}
	abs := map[string]any{
		"maxTotalVolumes": q[models.QuotaVolumes].Limit, "totalVolumesUsed": q[models.QuotaVolumes].Used,
		"maxTotalSnapshots": q[models.QuotaSnapshots].Limit, "totalSnapshotsUsed": q[models.QuotaSnapshots].Used,
		"maxTotalVolumeGigabytes": q[models.QuotaGigabytes].Limit, "totalGigabytesUsed": q[models.QuotaGigabytes].Used,
		"maxTotalBackups": 0, "totalBackupsUsed": 0, "maxTotalBackupGigabytes": 0, "totalBackupGigabytesUsed": 0,
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": abs}})
	return nil
}

// quotaSet is os-quota-sets/{project}: a member sees their own project,
// an operator any (by ID or name); one that does not exist is a 404.
func (v *Volume) quotaSet(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	project, err := v.QuotaProject(r, c, chi.URLParam(r, "project"),
		"Policy doesn't allow volume_extension:quotas:show to be performed.")
	if err != nil {
		return err
	}
	q, err := v.quotaLines(r, project)
	if err != nil {
		return err
	}
	set := map[string]any{"id": project}
	usage := service.QueryOf(r).Bool("usage")
	for _, res := range blockStorageQuotas() {
		if usage {
			set[res] = map[string]int64{"limit": q[res].Limit, "in_use": q[res].Used, "reserved": 0, "allocated": 0}
		} else {
			set[res] = q[res].Limit
		}
	}
	// No backups or groups are served: none may be made, as the limits
	// say; a single volume has no size limit of its own.
	for res, limit := range map[string]int64{"backups": 0, "backup_gigabytes": 0, "groups": 0, "per_volume_gigabytes": -1} {
		if usage {
			set[res] = map[string]int64{"limit": limit, "in_use": 0, "reserved": 0, "allocated": 0}
		} else {
			set[res] = limit
		}
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": set})
	return nil
}

// deleteQuotaSet is DELETE os-quota-sets/{project} (operators): the
// project's block storage limits revert to the defaults. Cinder's
// controller returns nothing: 200 with an empty body, which its clients
// (cinderclient, gophercloud) expect.
func (v *Volume) deleteQuotaSet(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	project, err := v.Project(r, chi.URLParam(r, "project"))
	if err != nil {
		return err
	}
	if _, err := v.Store.ResetQuotas(r.Context(), *c, project, blockStorageQuotas()); err != nil {
		return err
	}
	service.Empty(w, http.StatusOK)
	return nil
}

func (v *Volume) zones(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	if err := scope(r, c); err != nil {
		return err
	}
	// Backends are an operator's matter; a zone's name is not.
	page, err := v.Store.ListVolumeBackends(r.Context(), models.ListOptions{Limit: models.MaxPageSize})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var out []map[string]any
	for _, b := range page.Items {
		if seen[b.AvailabilityZone] {
			continue
		}
		seen[b.AvailabilityZone] = true
		out = append(out, map[string]any{"zoneName": b.AvailabilityZone, "zoneState": map[string]bool{"available": b.Up && b.Enabled}})
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": out})
	return nil
}
