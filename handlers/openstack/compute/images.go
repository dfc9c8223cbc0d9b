package compute

import (
	"errors"
	"math"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// The images proxy: Nova's view of the image service, which clients before
// microversion 2.36 still read (novaclient's image lookups). Later
// microversions answer 404, as Nova does: use the image API.

func (c *Compute) novaImage(r *http.Request, im models.Image, detail bool) map[string]any {
	base := c.BaseURL(r)
	links := []map[string]string{
		{"rel": "self", "href": base + Prefix + "/v2.1/images/" + im.ID},
		{"rel": "bookmark", "href": base + Prefix + "/images/" + im.ID},
		{"rel": "alternate", "type": "application/vnd.openstack.image", "href": base + "/image/images/" + im.ID},
	}
	v := map[string]any{"id": im.ID, "name": im.Name, "links": links}
	if !detail {
		return v
	}
	status, progress := novaImageStatus(im)
	meta := im.Properties
	if meta == nil {
		meta = map[string]string{}
	}
	v["status"], v["progress"] = status, progress
	v["minDisk"], v["minRam"], v["metadata"] = im.MinDiskGB, im.MinRAMMB, meta
	v["created"], v["updated"] = novaTime(im.CreatedAt), novaTime(im.UpdatedAt)
	v["OS-EXT-IMG-SIZE:size"] = im.SizeBytes
	return v
}

// novaImageStatus is an image's status and progress as Nova's images
// view shows Glance's: queued and saving are both SAVING (a snapshot's
// saving progress is its upload's, where Nova writes 50), killed is ERROR,
// deleted DELETED, and anything else UNKNOWN.
func novaImageStatus(im models.Image) (string, int) {
	switch im.Status {
	case models.ImageActive:
		return "ACTIVE", 100
	case models.ImageQueued:
		return "SAVING", 25
	case models.ImageSaving:
		return "SAVING", im.Progress
	case models.ImageKilled:
		return "ERROR", 0
	case models.ImageDeleted:
		return "DELETED", 100
	}
	return "UNKNOWN", 0
}

func (c *Compute) writeImages(w http.ResponseWriter, r *http.Request, caller *models.Caller, detail bool) error {
	if versionOf(r).AtLeast(2, 36) {
		return service.NotFound("The images proxy ends at microversion 2.35: use the image API.")
	}
	q := service.QueryOf(r)
	limit, err := q.Int("limit", models.MaxPageSize, 0, 1<<30)
	if err != nil {
		return err
	}
	f, err := novaImageFilter(q)
	if err != nil {
		return err
	}
	f.ListOptions = models.ListOptions{Limit: limit, Marker: q.Get("marker"), ExactName: []string{q.Get("name")}}
	p, err := c.Store.ListImages(r.Context(), *caller, f)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(p.Items))
	for _, im := range p.Items {
		out = append(out, c.novaImage(r, im, detail))
	}
	body := map[string]any{"images": out}
	if l := c.NextLinks(r, p.NextMarker, 0); l != nil {
		body["images_links"] = l
	}
	service.WriteJSON(w, http.StatusOK, body)
	return nil
}

// novaImageFilter translates the proxy's filters as Nova hands them to
// Glance, whose filters are exact: name as is, status lowercased, minDisk
// and minRam as min_disk and min_ram (integers, or 400 naming them), server
// as the instance_uuid property (the last part of the server's URL, or its
// ID), type as the image_type property (a snapshot's is "snapshot"). They
// go down to the query with the paging, so that a page holds matches only.
func novaImageFilter(q service.Query) (models.ImageFilter, error) {
	f := models.ImageFilter{Status: strings.ToLower(q.Get("status")), Properties: map[string]string{}}
	for _, p := range []struct {
		name string
		dst  **int
	}{{"minDisk", &f.MinDiskGB}, {"minRam", &f.MinRAMMB}} {
		if q.Get(p.name) == "" {
			continue
		}
		n, err := q.Int(p.name, 0, 0, math.MaxInt32)
		if err != nil {
			return f, err
		}
		*p.dst = &n
	}
	if q.Has("server") {
		server := q.Get("server")
		f.Properties["instance_uuid"] = server[strings.LastIndex(server, "/")+1:]
	}
	if q.Has("type") {
		f.Properties["image_type"] = q.Get("type")
	}
	return f, nil
}

func (c *Compute) listImages(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	return c.writeImages(w, r, caller, false)
}

func (c *Compute) listImagesDetail(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	return c.writeImages(w, r, caller, true)
}

func (c *Compute) getImage(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	if versionOf(r).AtLeast(2, 36) {
		return service.NotFound("The images proxy ends at microversion 2.35: use the image API.")
	}
	id := chi.URLParam(r, "id")
	im, err := c.Store.GetImage(r.Context(), *caller, id)
	if errors.Is(err, models.ErrNotFound) || !models.IsUUID(id) {
		return service.NotFound("Image not found.")
	} else if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"image": c.novaImage(r, im, true)})
	return nil
}
