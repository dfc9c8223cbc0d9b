// Package image is the facade's Glance v2: images (create, list with
// filters and paging, show, JSON-patch update, delete), streamed upload and
// download of their data with Glance's checksums, tags, members and the
// schemas clients read — translated to Stratus' image model.
package image

import (
	"net/http"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// Prefix is where the image API is served.
const Prefix = "/image"

// Image serves the Glance v2 API.
type Image struct {
	service.Deps
}

// New builds the image service.
func New(d service.Deps) *service.Service {
	im := &Image{Deps: d}
	return &service.Service{Deps: d, Prefix: Prefix, Shape: errorShape, Routes: im.routes(), QuotaStatus: http.StatusRequestEntityTooLarge}
}

// errorShape is Glance's (webob's JSON error body).
func errorShape(status int, message string) any {
	return map[string]any{"code": http.StatusText(status), "title": http.StatusText(status), "message": message}
}

func (im *Image) routes() []service.Route {
	const get, post, put, patch, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	R := service.R
	return []service.Route{
		R(get, "/", "openstack:versions", "Image API versions", im.versions),
		R(get, "/versions", "openstack:versions", "Image API versions", im.versions),

		R(get, "/v2/images", "image:list", "List images (filters name, status, visibility, owner, tag; marker/limit paging)", im.listImages),
		R(post, "/v2/images", "image:create", "Create an image record (queued)", im.createImage),
		R(get, "/v2/images/{id}", "image:get", "Show an image", im.getImage),
		R(patch, "/v2/images/{id}", "image:update", "Update an image with a JSON patch", im.patchImage),
		R(del, "/v2/images/{id}", "image:delete", "Delete an image", im.deleteImage),
		R(put, "/v2/images/{id}/file", "image:upload", "Upload an image's data (streamed)", im.uploadData),
		R(get, "/v2/images/{id}/file", "image:download", "Download an image's data", im.downloadData),
		R(put, "/v2/images/{id}/tags/{tag}", "image:update", "Add a tag", im.addTag),
		R(del, "/v2/images/{id}/tags/{tag}", "image:update", "Remove a tag", im.removeTag),
		R(get, "/v2/images/{id}/members", "image:member:list", "List an image's members", im.listMembers),
		R(post, "/v2/images/{id}/members", "image:member:create", "Share an image with a project", im.createMember),
		R(get, "/v2/images/{id}/members/{member}", "image:member:list", "Show a member", im.getMember),
		R(put, "/v2/images/{id}/members/{member}", "image:member:list", "Accept a shared image (Stratus members are accepted already)", im.updateMember),
		R(del, "/v2/images/{id}/members/{member}", "image:member:delete", "Stop sharing an image with a project", im.deleteMember),

		R(get, "/v2/schemas/image", "image:list", "The image schema", im.schema("image")),
		R(get, "/v2/schemas/images", "image:list", "The image list schema", im.schema("images")),
		R(get, "/v2/schemas/member", "image:list", "The member schema", im.schema("member")),
		R(get, "/v2/schemas/members", "image:list", "The member list schema", im.schema("members")),
	}
}

// versions is Glance's version list (300, as Glance answers its root).
func (im *Image) versions(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	href := im.BaseURL(r) + Prefix + "/v2/"
	var vs []map[string]any
	for i, id := range []string{"v2.16", "v2.9", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0"} {
		status := "SUPPORTED"
		if i == 0 {
			status = "CURRENT"
		}
		vs = append(vs, map[string]any{"id": id, "status": status, "links": []map[string]string{{"rel": "self", "href": href}}})
	}
	status := http.StatusMultipleChoices
	if r.URL.Path == Prefix+"/versions" {
		status = http.StatusOK
	}
	service.WriteJSON(w, status, map[string]any{"versions": vs})
	return nil
}
