package compute

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// Nova's os-volume_attachments: attach and detach go through the server,
// as in Stratus' own API; the attachment's id is the volume's.

func attachmentView(r *http.Request, v models.Volume) map[string]any {
	a := v.Attachments[0]
	out := map[string]any{"id": v.ID, "volumeId": v.ID, "serverId": a.InstanceID, "device": "/dev/" + a.Device}
	if versionOf(r).AtLeast(2, 70) {
		out["tag"] = nil
	}
	if versionOf(r).AtLeast(2, 79) {
		out["delete_on_termination"] = a.DeleteOnTermination
	}
	return out
}

func (c *Compute) serverVolumes(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	inst, err := c.findServer(r, caller)
	if err != nil {
		return err
	}
	vols, err := c.Store.InstanceVolumes(r.Context(), *caller, inst.ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(vols))
	for _, v := range vols {
		out = append(out, attachmentView(r, v))
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"volumeAttachments": out})
	return nil
}

// serverVolume shows one attachment; a volume not attached to the server
// is 404.
func (c *Compute) serverVolume(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	inst, err := c.findServer(r, caller)
	if err != nil {
		return err
	}
	vols, err := c.Store.InstanceVolumes(r.Context(), *caller, inst.ID)
	if err != nil {
		return err
	}
	for _, v := range vols {
		if v.ID == chi.URLParam(r, "volume") {
			service.WriteJSON(w, http.StatusOK, map[string]any{"volumeAttachment": attachmentView(r, v)})
			return nil
		}
	}
	return service.NotFound("Volume " + chi.URLParam(r, "volume") + " is not attached to the server.")
}

// attachServerVolume is POST os-volume_attachments {"volumeAttachment":
// {"volumeId"}}: 200 with the attachment (Nova's code); the volume is
// attaching until the host has attached it.
func (c *Compute) attachServerVolume(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	inst, err := c.findServer(r, caller)
	if err != nil {
		return err
	}
	var in struct {
		VolumeAttachment struct {
			VolumeID string `json:"volumeId"`
			Device   string `json:"device"` // a hint Nova ignores with libvirt; so does Stratus
		} `json:"volumeAttachment"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	if in.VolumeAttachment.VolumeID == "" {
		return service.BadRequest("Invalid input for field/attribute volumeId: it is required.")
	}
	att, err := c.Store.AttachVolume(r.Context(), *caller, inst.ID, in.VolumeAttachment.VolumeID)
	if err != nil {
		return err
	}
	v := models.Volume{ID: att.VolumeID, Attachments: []models.VolumeAttachment{att}}
	service.WriteJSON(w, http.StatusOK, map[string]any{"volumeAttachment": attachmentView(r, v)})
	return nil
}

// detachServerVolume is DELETE os-volume_attachments/{volume}: 202.
func (c *Compute) detachServerVolume(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	inst, err := c.findServer(r, caller)
	if err != nil {
		return err
	}
	if _, err := c.Store.DetachVolume(r.Context(), *caller, inst.ID, chi.URLParam(r, "volume"), false); err != nil {
		return err
	}
	service.Empty(w, http.StatusAccepted)
	return nil
}
