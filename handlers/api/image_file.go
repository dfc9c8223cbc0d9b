package api

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"stratus/handlers/httpx"
	"stratus/models"
)

// uploadImage is PUT /images/{id}/file: the request body, as it arrives,
// goes to the image store (hashed, its format sniffed, never held in
// memory). Data can be uploaded once, to a queued image; over the store's
// size limit is 413 and leaves the image killed.
func (a *API) uploadImage(r *http.Request, c models.Caller, in struct {
	idPath
	Body io.Reader `body:"binary"`
}) (Image, error) {
	// Find the image first: another project's image is 404 whatever is sent.
	if _, err := a.Store.GetImage(r.Context(), c, in.ID); err != nil {
		return Image{}, err
	}
	if err := requireOctetStream(r); err != nil {
		return Image{}, err
	}
	// A declared size over the limit is refused before a byte is read; the
	// image stays queued for a smaller upload. A body that lies about its
	// size, or has none (chunked), is stopped by the store at the limit.
	if limit := a.Store.Options().MaxImageBytes; r.ContentLength > limit {
		return Image{}, &models.Error{Kind: models.ErrTooLarge, Msg: fmt.Sprintf("the image is larger than the %d MiB limit", limit>>20)}
	}
	body := &uploadBody{r: in.Body}
	im, err := a.Store.UploadImage(r.Context(), c, in.ID, body)
	if err != nil && body.err != nil {
		// The client stopped sending (or the connection broke): not a
		// server error. The store has killed the image.
		a.Log.Warn("image upload cut short", "image", in.ID, "err", body.err, "request_id", httpx.RequestID(r))
		return Image{}, models.Invalid("file", "the upload was cut short: create the image again and send all of it")
	}
	if err != nil {
		return Image{}, err
	}
	return imageView(im), nil
}

// uploadBody remembers why reading the request body failed, if it did.
type uploadBody struct {
	r   io.Reader
	err error
}

func (b *uploadBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// downloadImage is GET /images/{id}/file: an active image's data.
func (a *API) downloadImage(r *http.Request, c models.Caller, in idPath) (imageData, error) {
	f, im, err := a.Store.OpenImageFile(r.Context(), c, in.ID)
	if err != nil {
		return imageData{}, err
	}
	return imageData{file: f, image: im}, nil
}

// imageData is an image's data as a download. http.ServeContent answers
// Range, If-Range and If-None-Match; the SHA-256 recorded at upload is the
// ETag, so a host that cached the image can check it without a transfer.
type imageData struct {
	file  *os.File
	image models.Image
}

func (d imageData) blobHeaders() map[string]string {
	return map[string]string{
		"ETag":                    `The data's SHA-256 (hex), quoted.`,
		"Digest":                  `sha-256=<base64 of the data's SHA-256> (RFC 3230), of the whole data.`,
		"X-Image-Checksum-SHA256": `The data's SHA-256 (hex), as in the image's checksum_sha256.`,
		"Last-Modified":           `When the data was uploaded.`,
	}
}

func (d imageData) serveBlob(w http.ResponseWriter, r *http.Request, fail func(status int, code, msg string)) {
	defer d.file.Close()
	var modified time.Time
	if st, err := d.file.Stat(); err == nil {
		modified = st.ModTime()
	}
	h := w.Header()
	h.Set("Content-Type", octetStream)
	// The data of an image ID never changes: a client may keep it and
	// revalidate with the ETag.
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Content-Disposition", `attachment; filename="`+d.image.ID+`"`)
	if sum, err := hex.DecodeString(d.image.Checksum); err == nil && len(sum) > 0 {
		h.Set("ETag", `"`+d.image.Checksum+`"`)
		h.Set("Digest", "sha-256="+base64.StdEncoding.EncodeToString(sum))
		h.Set("X-Image-Checksum-SHA256", d.image.Checksum)
	}
	http.ServeContent(&problemWriter{ResponseWriter: w, fail: fail}, r, "", modified, d.file)
}

// uploadSnapshotFile is PUT /images/{id}/snapshot-file: the compute host
// that copied an instance's disk sends it here with its service account's
// token and the snapshot's one-time secret (header X-Stratus-Snapshot-Secret).
// Only a saving snapshot takes data; a wrong secret is 403.
func (a *API) uploadSnapshotFile(r *http.Request, c models.Caller, in struct {
	idPath
	Body io.Reader `body:"binary"`
}) (Image, error) {
	if err := requireOctetStream(r); err != nil {
		return Image{}, err
	}
	body := &uploadBody{r: in.Body}
	im, err := a.Store.UploadSnapshot(r.Context(), in.ID, r.Header.Get(models.SnapshotSecretHeader), body)
	if err != nil && body.err != nil {
		a.Log.Warn("snapshot upload cut short", "image", in.ID, "err", body.err, "request_id", httpx.RequestID(r))
		return Image{}, models.Invalid("file", "the upload was cut short")
	}
	if err != nil {
		return Image{}, err
	}
	return imageView(im), nil
}
