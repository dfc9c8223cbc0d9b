package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// containerFormat is kept among the properties: Stratus has no container
// formats of its own, but clients send and show one.
const containerFormat = "container_format"

// glanceTime is Glance's time format.
func glanceTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// view renders an image as Glance does: its properties are top-level keys.
func view(m models.Image) map[string]any {
	v := map[string]any{}
	for k, val := range m.Properties {
		if k != containerFormat {
			v[k] = val
		}
	}
	var size any
	if m.Status == models.ImageActive {
		size = m.SizeBytes
	}
	tags := m.Tags
	if tags == nil {
		tags = []string{}
	}
	var hashAlgo any
	if m.Checksum != "" {
		hashAlgo = "sha256"
	}
	for k, val := range map[string]any{
		"id": m.ID, "name": m.Name, "status": m.Status, "visibility": m.Visibility, "protected": m.Protected,
		"checksum": nullable(m.ChecksumMD5), "os_hash_algo": hashAlgo, "os_hash_value": nullable(m.Checksum),
		"owner": m.ProjectID, "size": size, "virtual_size": nil, "min_ram": m.MinRAMMB, "min_disk": m.MinDiskGB,
		"disk_format": nullable(m.DiskFormat), "container_format": nullable(m.Properties[containerFormat]),
		"created_at": glanceTime(m.CreatedAt), "updated_at": glanceTime(m.UpdatedAt), "tags": tags, "os_hidden": false,
		"self": "/v2/images/" + m.ID, "file": "/v2/images/" + m.ID + "/file", "schema": "/v2/schemas/image",
	} {
		v[k] = val
	}
	return v
}

// readOnly are the attributes Glance does not let a client set.
var readOnly = []string{"id", "status", "checksum", "os_hash_algo", "os_hash_value", "owner", "size", "virtual_size",
	"created_at", "updated_at", "self", "file", "schema", "direct_url", "locations", "os_hidden", "stores"}

// glanceFormat translates a declared disk_format: Stratus detects formats
// from the bytes and knows qcow2, raw, iso and the kernel and ramdisk of a
// three-part image; ami (the disk of one) is detected like any disk.
func glanceFormat(f string) (string, error) {
	switch {
	case f == "" || f == "ami":
		return "", nil
	case slices.Contains(models.DiskFormats(), f):
		return f, nil
	}
	return "", service.BadRequest("Invalid value '" + f + "' for disk_format: Stratus takes " + strings.Join(models.DiskFormats(), ", ") + " (or ami).")
}

func checkVisibility(v string) error {
	switch v {
	case "", models.VisibilityPrivate, models.VisibilityShared, models.VisibilityPublic:
		return nil
	case "community":
		return service.BadRequest("Stratus has no community images: use public, shared or private.")
	}
	return service.BadRequest("Invalid value '" + v + "' for visibility.")
}

// listImages is GET /v2/images. Stratus pages images by name; sort keys
// other than name are accepted and the list stays by name.
func (im *Image) listImages(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	q := service.QueryOf(r)
	limit, err := q.Limit(25)
	if err != nil {
		return err
	}
	f := models.ImageFilter{ListOptions: models.ListOptions{Limit: limit, Marker: q.Get("marker"), ExactName: []string{q.Get("name")}},
		Status: q.Get("status"), Owner: q.Get("owner"), Tag: q.Get("tag")}
	switch v := q.Get("visibility"); v {
	case "", "all":
	case "community":
		service.WriteJSON(w, http.StatusOK, map[string]any{"images": []any{}, "first": "/v2/images", "schema": "/v2/schemas/images"})
		return nil
	default:
		if err := checkVisibility(v); err != nil {
			return err
		}
		f.Visibility = v
	}
	p, err := im.Store.ListImages(r.Context(), *c, f)
	var ve *models.ValidationError
	if errors.As(err, &ve) && ve.Fields["marker"] != "" {
		return service.BadRequest("marker " + f.Marker + " could not be found.")
	} else if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, m := range p.Items {
		out = append(out, view(m))
	}
	body := map[string]any{"images": out, "first": "/v2/images", "schema": "/v2/schemas/images"}
	if p.NextMarker != "" {
		nq := r.URL.Query()
		nq.Set("marker", p.NextMarker)
		body["next"] = "/v2/images?" + nq.Encode()
	}
	service.WriteJSON(w, http.StatusOK, body)
	return nil
}

// createImage is POST /v2/images: known attributes, and every other key a
// string property.
func (im *Image) createImage(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	var raw map[string]json.RawMessage
	if err := service.Decode(w, r, &raw); err != nil {
		return err
	}
	in := models.ImageInput{Properties: map[string]string{}, Visibility: models.VisibilityShared}
	for k, v := range raw {
		var err error
		switch k {
		case "name":
			err = json.Unmarshal(v, &in.Name)
		case "visibility":
			if err = json.Unmarshal(v, &in.Visibility); err == nil {
				err = checkVisibility(in.Visibility)
			}
		case "protected":
			err = json.Unmarshal(v, &in.Protected)
		case "min_ram":
			err = json.Unmarshal(v, &in.MinRAMMB)
		case "min_disk":
			err = json.Unmarshal(v, &in.MinDiskGB)
		case "tags":
			err = json.Unmarshal(v, &in.Tags)
		case "disk_format":
			var f string
			if err = json.Unmarshal(v, &f); err == nil {
				in.DiskFormat, err = glanceFormat(f)
			}
		case "container_format":
			var f string
			if err = json.Unmarshal(v, &f); err == nil && f != "" {
				in.Properties[containerFormat] = f
			}
		default:
			if slices.Contains(readOnly, k) {
				return service.Forbidden("Attribute '" + k + "' is read-only.")
			}
			var s string
			if json.Unmarshal(v, &s) != nil {
				return service.BadRequest("Property " + k + " must be a string.")
			}
			in.Properties[k] = s
		}
		if err != nil {
			var he *service.HTTPError
			if errors.As(err, &he) {
				return err
			}
			return service.BadRequest("Invalid value for " + k + ".")
		}
	}
	m, err := im.Store.CreateImage(r.Context(), *c, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", im.BaseURL(r)+Prefix+"/v2/images/"+m.ID)
	service.WriteJSON(w, http.StatusCreated, view(m))
	return nil
}

func (im *Image) find(r *http.Request, c *models.Caller) (models.Image, error) {
	id := chi.URLParam(r, "id")
	if !models.IsUUID(id) {
		return models.Image{}, service.NotFound("No image found with ID " + id)
	}
	m, err := im.Store.GetImage(r.Context(), *c, id)
	if errors.Is(err, models.ErrNotFound) {
		return m, service.NotFound("No image found with ID " + id)
	}
	return m, err
}

func (im *Image) getImage(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	m, err := im.find(r, c)
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, view(m))
	return nil
}

// patchOp is one operation of a JSON patch (Glance's
// application/openstack-images-v2.1-json-patch).
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// patchImage translates a JSON patch into one ImageUpdate.
func (im *Image) patchImage(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	m, err := im.find(r, c)
	if err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openstack-images-v2") {
		return &service.HTTPError{Status: http.StatusUnsupportedMediaType,
			Message: "Send the patch as application/openstack-images-v2.1-json-patch."}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		return service.BadRequest("The patch is too large or unreadable.")
	}
	var ops []patchOp
	if err := json.Unmarshal(data, &ops); err != nil {
		return service.BadRequest("The patch must be a JSON array of operations.")
	}
	up := models.ImageUpdate{Properties: map[string]string{}}
	for _, op := range ops {
		if err := applyOp(&up, m, op); err != nil {
			return err
		}
	}
	if m, err = im.Store.UpdateImage(r.Context(), *c, m.ID, up); err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, view(m))
	return nil
}

func applyOp(up *models.ImageUpdate, m models.Image, op patchOp) error {
	name := strings.TrimPrefix(op.Path, "/")
	if name == "" || strings.Contains(name, "/") && !strings.HasPrefix(name, "tags/") {
		return service.BadRequest("Invalid path " + op.Path + ".")
	}
	if slices.Contains(readOnly, name) {
		return service.Forbidden("Attribute '" + name + "' is read-only.")
	}
	remove := op.Op == "remove"
	if !remove && op.Op != "add" && op.Op != "replace" {
		return service.BadRequest("Unsupported patch operation " + op.Op + ": use add, replace or remove.")
	}
	bad := func() error { return service.BadRequest(fmt.Sprintf("Invalid value for %s.", name)) }
	switch name {
	case "name":
		var s string
		if remove || json.Unmarshal(op.Value, &s) != nil {
			return bad()
		}
		up.Name = &s
	case "visibility":
		var s string
		if remove || json.Unmarshal(op.Value, &s) != nil {
			return bad()
		}
		if err := checkVisibility(s); err != nil {
			return err
		}
		up.Visibility = &s
	case "protected":
		var b bool
		if remove || json.Unmarshal(op.Value, &b) != nil {
			return bad()
		}
		up.Protected = &b
	case "min_ram", "min_disk":
		var n int
		if remove || json.Unmarshal(op.Value, &n) != nil {
			return bad()
		}
		if name == "min_ram" {
			up.MinRAMMB = &n
		} else {
			up.MinDiskGB = &n
		}
	case "tags":
		var tags []string
		if remove {
			tags = []string{}
		} else if json.Unmarshal(op.Value, &tags) != nil {
			return bad()
		}
		up.Tags = &tags
	case "disk_format":
		var s string
		if remove || json.Unmarshal(op.Value, &s) != nil {
			return bad()
		}
		if f, err := glanceFormat(s); err != nil {
			return err
		} else if f != m.DiskFormat && !(f == "" && m.DiskFormat != "") {
			return service.Forbidden("Attribute disk_format can be only replaced for a queued image; Stratus detects it from the data.")
		}
	default: // a property; container_format is kept among them
		if remove {
			if _, ok := m.Properties[name]; !ok {
				return &service.HTTPError{Status: http.StatusConflict, Message: "Property " + name + " does not exist."}
			}
			up.Properties[name] = ""
			return nil
		}
		var s string
		if json.Unmarshal(op.Value, &s) != nil || s == "" {
			return service.BadRequest("Property " + name + " must be a non-empty string.")
		}
		up.Properties[name] = s
	}
	return nil
}

func (im *Image) deleteImage(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	m, err := im.find(r, c)
	if err != nil {
		return err
	}
	if err := im.Store.DeleteImage(r.Context(), *c, m.ID); err != nil {
		if errors.Is(err, models.ErrConflict) && m.Protected {
			return service.Forbidden("Image " + m.ID + " is protected and cannot be deleted.")
		}
		return err
	}
	service.Empty(w, http.StatusNoContent)
	return nil
}

// uploadData is PUT /v2/images/{id}/file: the body streams to the image
// store (hashed — SHA-256 and MD5 — and its format sniffed on the way).
func (im *Image) uploadData(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	m, err := im.find(r, c)
	if err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/octet-stream") {
		return &service.HTTPError{Status: http.StatusUnsupportedMediaType, Message: "Send image data as application/octet-stream."}
	}
	if limit := im.Store.Options().MaxImageBytes; r.ContentLength > limit {
		return &service.HTTPError{Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("Image exceeds the storage quota: the limit is %d MiB.", limit>>20)}
	}
	if _, err := im.Store.UploadImage(r.Context(), *c, m.ID, r.Body); err != nil {
		return err
	}
	service.Empty(w, http.StatusNoContent)
	return nil
}

// downloadData is GET /v2/images/{id}/file: the bytes with Glance's
// Content-MD5 (ranges supported). An image without data is 204.
func (im *Image) downloadData(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	m, err := im.find(r, c)
	if err != nil {
		return err
	}
	if m.Status == models.ImageQueued {
		service.Empty(w, http.StatusNoContent)
		return nil
	}
	f, m, err := im.Store.OpenImageFile(r.Context(), *c, m.ID)
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if m.ChecksumMD5 != "" {
		h.Set("Content-MD5", m.ChecksumMD5)
	}
	if m.Checksum != "" {
		h.Set("ETag", `"`+m.Checksum+`"`)
	}
	http.ServeContent(w, r, "", m.UpdatedAt, f)
	return nil
}

// setTags replaces an image's tags.
func (im *Image) setTags(w http.ResponseWriter, r *http.Request, c *models.Caller, edit func(tags []string) ([]string, error)) error {
	m, err := im.find(r, c)
	if err != nil {
		return err
	}
	tags, err := edit(slices.Clone(m.Tags))
	if err != nil {
		return err
	}
	if _, err := im.Store.UpdateImage(r.Context(), *c, m.ID, models.ImageUpdate{Tags: &tags}); err != nil {
		return err
	}
	service.Empty(w, http.StatusNoContent)
	return nil
}

func (im *Image) addTag(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	tag := chi.URLParam(r, "tag")
	return im.setTags(w, r, c, func(tags []string) ([]string, error) { return append(tags, tag), nil })
}

func (im *Image) removeTag(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	tag := chi.URLParam(r, "tag")
	return im.setTags(w, r, c, func(tags []string) ([]string, error) {
		i := slices.Index(tags, tag)
		if i < 0 {
			return nil, service.NotFound("Tag " + tag + " not found.")
		}
		return slices.Delete(tags, i, i+1), nil
	})
}
