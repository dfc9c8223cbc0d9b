package image

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

func memberView(m models.Image, member models.ImageMember) map[string]any {
	return map[string]any{
		"image_id": member.ImageID, "member_id": member.ProjectID, "status": "accepted",
		"created_at": glanceTime(m.CreatedAt), "updated_at": glanceTime(m.UpdatedAt), "schema": "/v2/schemas/member",
	}
}

func (im *Image) listMembers(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	m, err := im.find(r, c)
	if err != nil {
		return err
	}
	members, err := im.Store.ListImageMembers(r.Context(), *c, m.ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(members))
	for i, mem := range members {
		out[i] = memberView(m, mem)
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"members": out, "schema": "/v2/schemas/members"})
	return nil
}

func (im *Image) createMember(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	m, err := im.find(r, c)
	if err != nil {
		return err
	}
	var in struct {
		Member string `json:"member"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	if in.Member == "" {
		return service.BadRequest("Invalid input for field/attribute member: it is required.")
	}
	mem, err := im.Store.AddImageMember(r.Context(), *c, m.ID, in.Member)
	if err != nil {
		if errors.Is(err, models.ErrConflict) && m.Visibility != models.VisibilityShared {
			return service.Forbidden("Only shared images have members.")
		}
		return err
	}
	service.WriteJSON(w, http.StatusOK, memberView(m, mem))
	return nil
}

func (im *Image) findMember(r *http.Request, c *models.Caller) (models.Image, models.ImageMember, error) {
	m, err := im.find(r, c)
	if err != nil {
		return m, models.ImageMember{}, err
	}
	members, err := im.Store.ListImageMembers(r.Context(), *c, m.ID)
	if err != nil {
		return m, models.ImageMember{}, err
	}
	id := chi.URLParam(r, "member")
	for _, mem := range members {
		if mem.ProjectID == id {
			return m, mem, nil
		}
	}
	return m, models.ImageMember{}, service.NotFound(id + " is not a member of image " + m.ID)
}

func (im *Image) getMember(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	m, mem, err := im.findMember(r, c)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, memberView(m, mem))
	return nil
}

// updateMember is a member's answer to a share: Stratus shares are
// accepted at once, so accepting is a no-op and rejecting is refused (the
// owner removes the member instead).
func (im *Image) updateMember(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	m, mem, err := im.findMember(r, c)
	if err != nil {
		return err
	}
	var in struct {
		Status string `json:"status"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	if in.Status != "accepted" {
		return service.BadRequest("Stratus image shares are accepted at once; ask the owner to remove the share instead.")
	}
	service.WriteJSON(w, http.StatusOK, memberView(m, mem))
	return nil
}

func (im *Image) deleteMember(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	m, mem, err := im.findMember(r, c)
	if err != nil {
		return err
	}
	if err := im.Store.RemoveImageMember(r.Context(), *c, m.ID, mem.ProjectID); err != nil {
		return err
	}
	service.Empty(w, http.StatusNoContent)
	return nil
}
