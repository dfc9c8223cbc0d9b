package api

import (
	"net/http"
	"slices"
	"time"

	"stratus/models"
)

// Volume is a block storage volume as the API shows it (Cinder's names).
// Its backend is for operators: a tenant sees null there.
type Volume struct {
	ID                  string                    `json:"id"`
	Name                string                    `json:"name"`
	Description         string                    `json:"description"`
	SizeGB              int                       `json:"size_gb"`
	Status              models.VolumeStatus       `json:"status"`
	VolumeType          string                    `json:"volume_type"`
	AvailabilityZone    string                    `json:"availability_zone"`
	Bootable            bool                      `json:"bootable"`
	ImageID             *string                   `json:"image_id"`     // the image written onto it
	SnapshotID          *string                   `json:"snapshot_id"`  // the snapshot it was made from
	SourceVolID         *string                   `json:"source_volid"` // the volume it is a clone of
	VolumeImageMetadata map[string]string         `json:"volume_image_metadata"`
	Progress            int                       `json:"progress"` // percent of an image written, while creating
	Attachments         []models.VolumeAttachment `json:"attachments"`
	Fault               *string                   `json:"fault_message"` // why it is in error, or why the last action failed
	Backend             *string                   `json:"backend"`       // operators only
	ProjectID           string                    `json:"project_id"`
	UserID              string                    `json:"user_id"`
	CreatedAt           time.Time                 `json:"created_at"`
	UpdatedAt           time.Time                 `json:"updated_at"`
}

func volumeView(c models.Caller, v models.Volume) Volume {
	out := Volume{ID: v.ID, Name: v.Name, Description: v.Description, SizeGB: v.SizeGB, Status: v.Status,
		VolumeType: v.VolumeTypeName, AvailabilityZone: v.AvailabilityZone, Bootable: v.Bootable,
		ImageID: nonEmpty(v.SourceImageID), SnapshotID: nonEmpty(v.SourceSnapshotID), SourceVolID: nonEmpty(v.SourceVolumeID),
		VolumeImageMetadata: v.ImageMeta, Progress: v.Progress, Attachments: nonNil(v.Attachments),
		Fault: nonEmpty(v.FaultMessage), ProjectID: v.ProjectID, UserID: v.UserID, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
	if out.VolumeImageMetadata == nil {
		out.VolumeImageMetadata = map[string]string{}
	}
	if c.IsSystemAdmin() {
		out.Backend = nonEmpty(v.Backend)
	}
	return out
}

// VolumeList is a page of volumes, newest first.
type VolumeList struct {
	Volumes []Volume `json:"volumes"`
	Next    *string  `json:"next"`
}

type volumeQuery struct {
	namedPage
	Status      models.VolumeStatus `query:"status" doc:"Only volumes with this status."`
	AllProjects bool                `query:"all_projects" doc:"Operators: every project's volumes."`
	ProjectID   string              `query:"project_id" format:"uuid" doc:"With all_projects: only this project's volumes."`
	Backend     string              `query:"backend" doc:"With all_projects: only the volumes on this backend."`
}

// listVolumes is GET /volumes: the project's volumes with their
// attachments, newest first. Two queries per page, whatever its size.
func (a *API) listVolumes(r *http.Request, c models.Caller, in volumeQuery) (VolumeList, error) {
	if in.AllProjects && !a.Policy.Allowed(&c, "volume:list_all") {
		return VolumeList{}, &models.Error{Kind: models.ErrForbidden, Msg: "only operators may list every project's volumes"}
	}
	p := models.Problems{}
	if in.Status != "" && !slices.Contains(models.VolumeStatuses(), in.Status) {
		p.Add("status", "unknown status")
	}
	if !in.AllProjects && (in.ProjectID != "" || in.Backend != "") {
		p.Add("all_projects", "project_id and backend go with all_projects=true")
	}
	if err := p.Err(); err != nil {
		return VolumeList{}, err
	}
	page, err := a.Store.ListVolumes(r.Context(), c, models.VolumeFilter{ListOptions: in.options(), Status: in.Status,
		AllProjects: in.AllProjects, ProjectID: in.ProjectID, Backend: in.Backend})
	if err != nil {
		return VolumeList{}, err
	}
	out := make([]Volume, len(page.Items))
	for i, v := range page.Items {
		out[i] = volumeView(c, v)
	}
	return VolumeList{Volumes: out, Next: nextLink(r, page.NextMarker)}, nil
}

// createVolume is POST /volumes: 202 with the volume creating; poll until
// available (or error, with fault_message saying why). Over quota is 403
// quota_exceeded and nothing is created.
func (a *API) createVolume(r *http.Request, c models.Caller, in struct {
	Body models.VolumeCreate `body:"json"`
}) (Volume, error) {
	v, err := a.Store.CreateVolume(r.Context(), c, in.Body)
	if err != nil {
		return Volume{}, err
	}
	return volumeView(c, v), nil
}

func (a *API) getVolume(r *http.Request, c models.Caller, in idPath) (Volume, error) {
	v, err := a.Store.GetVolume(r.Context(), c, in.ID)
	if err != nil {
		return Volume{}, err
	}
	return volumeView(c, v), nil
}

func (a *API) updateVolume(r *http.Request, c models.Caller, in struct {
	idPath
	Body models.VolumeUpdate `body:"json"`
}) (Volume, error) {
	v, err := a.Store.UpdateVolume(r.Context(), c, in.ID, in.Body)
	if err != nil {
		return Volume{}, err
	}
	return volumeView(c, v), nil
}

// deleteVolume is DELETE /volumes/{id}: 202 with the volume deleting (or
// gone at once when it never reached a backend); 409 while it is attached
// or has snapshots, saying which.
func (a *API) deleteVolume(r *http.Request, c models.Caller, in idPath) (Volume, error) {
	v, err := a.Store.DeleteVolume(r.Context(), c, in.ID)
	if err != nil {
		return Volume{}, err
	}
	return volumeView(c, v), nil
}

// VolumeActionRequest is a volume action: {"action": "extend",
// "new_size_gb": N}.
type VolumeActionRequest struct {
	Action    volumeAction `json:"action"`
	NewSizeGB int          `json:"new_size_gb"`
}

// volumeAction names a volume action: extend.
type volumeAction string

// volumeAction is POST /volumes/{id}/actions: extend an available volume,
// or an in-use one online (the guest sees the new size). 202.
func (a *API) volumeAction(r *http.Request, c models.Caller, in struct {
	idPath
	Body VolumeActionRequest `body:"json"`
}) (Volume, error) {
	if in.Body.Action != "extend" {
		// Another project's volume is a 404 whatever the body says.
		if _, err := a.Store.GetVolume(r.Context(), c, in.ID); err != nil {
			return Volume{}, err
		}
		return Volume{}, models.Invalid("action", "must be extend")
	}
	v, err := a.Store.ExtendVolume(r.Context(), c, in.ID, in.Body.NewSizeGB)
	if err != nil {
		return Volume{}, err
	}
	return volumeView(c, v), nil
}

// VolumeAttachmentRequest attaches a volume: {"volume_id": …}.
type VolumeAttachmentRequest struct {
	VolumeID string `json:"volume_id"`
}

// VolumeAttachmentList is an instance's volumes, by device.
type VolumeAttachmentList struct {
	Volumes []Volume `json:"volumes"`
}

type attachmentPath struct {
	ID       string `path:"id" format:"uuid" doc:"The instance's ID."`
	VolumeID string `path:"volume_id" format:"uuid" doc:"The volume's ID."`
}

// listVolumeAttachments is GET /instances/{id}/volume-attachments.
func (a *API) listVolumeAttachments(r *http.Request, c models.Caller, in idPath) (VolumeAttachmentList, error) {
	vols, err := a.Store.InstanceVolumes(r.Context(), c, in.ID)
	if err != nil {
		return VolumeAttachmentList{}, err
	}
	out := make([]Volume, len(vols))
	for i, v := range vols {
		out[i] = volumeView(c, v)
	}
	return VolumeAttachmentList{Volumes: out}, nil
}

// attachVolume is POST /instances/{id}/volume-attachments: 202 with the
// attachment; the volume is attaching until the host has attached it —
// live on a running instance, at the next start on a stopped one.
func (a *API) attachVolume(r *http.Request, c models.Caller, in struct {
	idPath
	Body VolumeAttachmentRequest `body:"json"`
}) (models.VolumeAttachment, error) {
	return a.Store.AttachVolume(r.Context(), c, in.ID, in.Body.VolumeID)
}

type detachQuery struct {
	attachmentPath
	Force bool `query:"force" doc:"Operators: free the volume without waiting for the guest (also when its host is down)."`
}

// detachVolume is DELETE /instances/{id}/volume-attachments/{volume_id}:
// 202 with the volume detaching; it is available once the guest released
// the disk, or back in use with fault_message when it did not in time.
func (a *API) detachVolume(r *http.Request, c models.Caller, in detachQuery) (Volume, error) {
	if in.Force && !a.Policy.Allowed(&c, "volume:force_detach") {
		return Volume{}, &models.Error{Kind: models.ErrForbidden, Msg: "only operators may force a detach"}
	}
	v, err := a.Store.DetachVolume(r.Context(), c, in.ID, in.VolumeID, in.Force)
	if err != nil {
		return Volume{}, err
	}
	return volumeView(c, v), nil
}
