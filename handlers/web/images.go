package web

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
	"stratus/views/ui"
)

// images lists the images the project may use: its own, public ones, and
// those shared with it.
func (h *Web) images(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	lq := readList(r, "/images", adminPageSize, "name")
	page, err := h.Store.ListImages(ctx, c, models.ImageFilter{ListOptions: lq.options()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.ImagesProps{Filter: lq.get("name"), CanCreate: h.allowed(ctx, "image:create"), CSRF: h.csrfToken(r),
		Pager: lq.pager(page.NextMarker)}
	for _, im := range page.Items {
		p.Rows = append(p.Rows, pages.ImageRow{Image: im, Own: im.RightsOf(c).Own})
	}
	h.renderPage(w, r, http.StatusOK, pages.ImagesPage(h.shell(r, i18n.T(r.Context(), "Images"), "images"), p), "results")
}

func (h *Web) newImagePage(w http.ResponseWriter, r *http.Request) {
	h.renderImageForm(w, r, http.StatusOK, ui.NewForm(map[string]string{"visibility": models.VisibilityPrivate}), nil)
}

// renderImageForm shows the create form (im nil) or an image's page with
// its edit form.
func (h *Web) renderImageForm(w http.ResponseWriter, r *http.Request, status int, form ui.Form, im *models.Image) {
	ctx := r.Context()
	c := callerOf(ctx)
	parts, err := h.Store.ListImages(ctx, c, models.ImageFilter{Status: models.ImageActive, ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.ImageFormProps{Form: form, Image: im, IsAdmin: c.IsSystemAdmin()}
	for _, x := range parts.Items {
		switch x.DiskFormat {
		case models.FormatAKI:
			p.Kernels = append(p.Kernels, x)
		case models.FormatARI:
			p.Ramdisks = append(p.Ramdisks, x)
		}
	}
	if im == nil {
		h.render(w, r, status, pages.ImageNewPage(h.shell(r, i18n.T(r.Context(), "New image"), "images"), p))
		return
	}
	rights := im.RightsOf(c)
	p.Own = rights.Own
	p.CanEdit = rights.Change && h.allowed(ctx, "image:update")
	p.CanDel = rights.Change && h.allowed(ctx, "image:delete")
	p.CanUp = rights.Upload && h.allowed(ctx, "image:upload")
	h.render(w, r, status, pages.ImageDetailPage(h.shell(r, im.Name, "images"), p))
}

// imageFormValues reads the fields the create and edit forms share.
func imageFormValues(r *http.Request) ui.Form {
	form := ui.NewForm(nil)
	for _, k := range []string{"name", "visibility", "disk_format", "min_disk", "min_ram", "kernel_id", "ramdisk_id", "properties"} {
		form.Values[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	if r.PostFormValue("protected") == "true" {
		form.Values["protected"] = "true"
	}
	return form
}

// formInt reads a whole number field (empty is 0) or records its error.
func formInt(form *ui.Form, name string) int {
	v := form.Get(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		form.Errors[name] = i18n.N("must be a whole number")
	}
	return n
}

// parseProperties reads "key=value" lines; kernel_id and ramdisk_id come
// from their own fields.
func parseProperties(ctx context.Context, form *ui.Form) map[string]string {
	props := map[string]string{}
	for _, line := range strings.Split(form.Get("properties"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			form.Errors["properties"] = i18n.T(ctx, "write one key=value per line")
			continue
		}
		if k == "kernel_id" || k == "ramdisk_id" {
			continue
		}
		props[k] = v
	}
	for _, k := range []string{"kernel_id", "ramdisk_id"} {
		if v := form.Get(k); v != "" {
			props[k] = v
		}
	}
	return props
}

// propertiesText is the properties textarea's content (without the parts
// of a three-part image, which have their own fields).
func propertiesText(props map[string]string) string {
	keys := make([]string, 0, len(props))
	for k := range props {
		if k != "kernel_id" && k != "ramdisk_id" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + props[k] + "\n")
	}
	return b.String()
}

// createImage records a queued image; its bytes are sent next, from the
// upload page.
func (h *Web) createImage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := imageFormValues(r)
	in := models.ImageInput{Name: form.Get("name"), Visibility: form.Get("visibility"), DiskFormat: form.Get("disk_format"),
		Protected: form.Get("protected") == "true", MinDiskGB: formInt(&form, "min_disk"), MinRAMMB: formInt(&form, "min_ram"),
		Properties: parseProperties(r.Context(), &form)}
	if form.HasErrors() {
		h.renderImageForm(w, r, http.StatusUnprocessableEntity, form, nil)
		return
	}
	im, err := h.Store.CreateImage(ctx, callerOf(ctx), in)
	if h.imageFormFailed(w, r, err, form, nil) {
		return
	}
	redirect(w, r, "/images/"+im.ID+"/upload")
}

// imageFormFailed re-renders an image form with a model error the user can
// act on, or fails the request; it reports whether there was an error.
func (h *Web) imageFormFailed(w http.ResponseWriter, r *http.Request, err error, form ui.Form, im *models.Image) bool {
	if err == nil {
		return false
	}
	if fields := fieldErrors(r.Context(), err); fields != nil {
		for k, v := range fields {
			if _, ok := form.Values[k]; ok {
				form.Errors[k] = v
			} else {
				form.Error = v
			}
		}
		h.renderImageForm(w, r, http.StatusUnprocessableEntity, form, im)
		return true
	}
	if errors.Is(err, models.ErrQuotaExceeded) || errors.Is(err, models.ErrConflict) {
		form.Error = h.userMessage(r, err)
		h.renderImageForm(w, r, httpStatus(err), form, im)
		return true
	}
	h.fail(w, r, err)
	return true
}

// image shows an image and, to its owner, the edit form.
func (h *Web) image(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	im, err := h.Store.GetImage(ctx, callerOf(ctx), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	form := ui.NewForm(map[string]string{
		"name": im.Name, "visibility": im.Visibility, "min_disk": strconv.Itoa(im.MinDiskGB), "min_ram": strconv.Itoa(im.MinRAMMB),
		"kernel_id": im.KernelID(), "ramdisk_id": im.RamdiskID(), "properties": propertiesText(im.Properties),
	})
	if im.Protected {
		form.Values["protected"] = "true"
	}
	h.renderImageForm(w, r, http.StatusOK, form, &im)
}

// updateImage saves the edit form. Properties missing from the form are
// removed (the model merges, and an empty value removes a key).
func (h *Web) updateImage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	im, err := h.Store.GetImage(ctx, c, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	form := imageFormValues(r)
	props := parseProperties(r.Context(), &form)
	for k := range im.Properties {
		if _, ok := props[k]; !ok {
			props[k] = ""
		}
	}
	name, vis, protected := form.Get("name"), form.Get("visibility"), form.Get("protected") == "true"
	minDisk, minRAM := formInt(&form, "min_disk"), formInt(&form, "min_ram")
	if form.HasErrors() {
		h.renderImageForm(w, r, http.StatusUnprocessableEntity, form, &im)
		return
	}
	up, err := h.Store.UpdateImage(ctx, c, im.ID, models.ImageUpdate{Name: &name, Visibility: &vis, Protected: &protected,
		MinDiskGB: &minDisk, MinRAMMB: &minRAM, Properties: props})
	if errors.Is(err, models.ErrForbidden) {
		h.fail(w, r, err)
		return
	}
	if h.imageFormFailed(w, r, err, form, &im) {
		return
	}
	h.flash(r, i18n.T(r.Context(), "Image %s saved.", up.Name))
	redirect(w, r, "/images/"+up.ID)
}

// imageBack is where an image action returns: its "next" field (the admin
// list, say), else the image's page.
func imageBack(r *http.Request, id string) string {
	if next := safeNext(r.PostFormValue("next")); next != "" {
		return next
	}
	return "/images/" + id
}

// setImageProtected protects or unprotects an image.
func (h *Web) setImageProtected(w http.ResponseWriter, r *http.Request) {
	protected := r.PostFormValue("protected") == "true"
	done := i18n.T(r.Context(), "is no longer protected")
	if protected {
		done = i18n.T(r.Context(), "is protected: it cannot be deleted until unprotected")
	}
	h.imageChange(w, r, models.ImageUpdate{Protected: &protected}, done)
}

// publishImage makes an image public (operators only; the model refuses
// anyone else).
func (h *Web) publishImage(w http.ResponseWriter, r *http.Request) {
	vis := models.VisibilityPublic
	h.imageChange(w, r, models.ImageUpdate{Visibility: &vis}, i18n.T(r.Context(), "is public: every project may use it"))
}

func (h *Web) imageChange(w http.ResponseWriter, r *http.Request, up models.ImageUpdate, done string) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	im, err := h.Store.UpdateImage(ctx, callerOf(ctx), id, up)
	h.finish(w, r, err, imageBack(r, id), i18n.T(r.Context(), "Image %s %s.", im.Name, done))
}

// deleteImage deletes an image; a protected one is refused with a flash.
func (h *Web) deleteImage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	id := chi.URLParam(r, "id")
	im, err := h.Store.GetImage(ctx, c, id)
	if err == nil {
		err = h.Store.DeleteImage(ctx, c, id)
	}
	back := imageBack(r, id)
	if err == nil && strings.HasPrefix(back, "/images/"+id) {
		back = "/images" // its own page is gone
	}
	h.finish(w, r, err, back, i18n.T(r.Context(), "Image %s deleted.", im.Name))
}

// uploadPage is where a queued image gets its bytes: a file input and a
// progress bar (static/src/upload.js sends the file with XMLHttpRequest);
// without JavaScript the same form posts multipart/form-data.
func (h *Web) uploadPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	im, err := h.Store.GetImage(ctx, c, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch rights := im.RightsOf(c); {
	case !rights.Change:
		h.errorPage(w, r, http.StatusForbidden, i18n.T(r.Context(), "You may not do this"), i18n.T(r.Context(), "Only the project that owns this image may upload its data."))
		return
	case !rights.Upload:
		h.errorPage(w, r, http.StatusConflict, i18n.T(r.Context(), "Not possible now"), i18n.T(r.Context(), "Image %s is %s: data can be uploaded only once, to a queued image.", im.Name, im.Status))
		return
	}
	p := pages.UploadProps{Image: im, MaxBytes: h.Store.Options().MaxImageBytes}
	h.render(w, r, http.StatusOK, pages.UploadPage(h.shell(r, i18n.T(r.Context(), "Upload %s", im.Name), "images"), p))
}

// uploadImage streams a request body into the image store: never parsed,
// never buffered. The page's script PUTs the file as the raw body with the
// CSRF token in a header and reads the plain-text answer; a browser
// without JavaScript POSTs multipart/form-data whose first part must be the
// CSRF token and second the file, and gets a redirect.
func (h *Web) uploadImage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	id := chi.URLParam(r, "id")
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		// A form, not a file: say so (after the image lookup, so another
		// project's image stays "not found").
		if _, err := h.Store.GetImage(ctx, c, id); err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnsupportedMediaType)
		_, _ = io.WriteString(w, i18n.T(ctx, "Send the image file as the request body (or as the file field of a multipart form)."))
		return
	}
	var body io.Reader = r.Body
	isForm := strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
	if isForm {
		file, err := h.multipartFile(r)
		if err != nil {
			if errors.Is(err, errCSRF) {
				h.csrfRefused(w, r)
				return
			}
			h.flashError(r, h.userMessage(r, err))
			redirect(w, r, "/images/"+id+"/upload")
			return
		}
		body = file
	}
	im, err := h.Store.UploadImage(ctx, c, id, body)
	if isForm {
		if err != nil {
			h.flashError(r, h.userMessage(r, err))
			redirect(w, r, "/images/"+id+"/upload")
			return
		}
		h.flash(r, uploadDone(ctx, im))
		redirect(w, r, "/images/"+im.ID)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		w.WriteHeader(httpStatus(err))
		_, _ = io.WriteString(w, h.userMessage(r, err))
		return
	}
	h.flash(r, uploadDone(ctx, im))
	_, _ = io.WriteString(w, uploadDone(ctx, im))
}

func uploadDone(ctx context.Context, im models.Image) string {
	return i18n.T(ctx, "Image %s uploaded: %s, %s, %s.", im.Name, i18n.BytesFixed(ctx, im.SizeBytes), im.DiskFormat, i18n.Known(ctx, im.Status))
}

var errCSRF = errors.New("csrf token missing or wrong")

// multipartFile reads a no-JavaScript upload form as a stream: the first
// part must carry the session's CSRF token (unless a header did), the next
// is the file, returned unread.
func (h *Web) multipartFile(r *http.Request) (*multipart.Part, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, models.Invalid("file", i18n.N("the upload form could not be read"))
	}
	checked := r.Header.Get("X-CSRF-Token") != "" // verifyCSRFStream checked it
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, models.Invalid("file", i18n.N("choose a file to upload"))
		}
		switch part.FormName() {
		case "csrf_token":
			tok, _ := io.ReadAll(io.LimitReader(part, 256))
			checked = checked || h.csrfMatches(r, string(tok))
		case "file":
			if !checked {
				return nil, errCSRF
			}
			return part, nil
		default:
			if !checked {
				return nil, errCSRF
			}
		}
	}
}
