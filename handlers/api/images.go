package api

import (
	"net/http"

	"stratus/models"
)

// Image is an image's metadata and where its data is (Glance's "file").
type Image struct {
	models.Image
	File string `json:"file"` // upload (PUT) and download (GET) the data here
}

// ImageList is a page of the images the caller may see, by name: the
// project's own, public ones and those shared with it.
type ImageList struct {
	Images []Image `json:"images"`
	Next   *string `json:"next"`
}

type imageQuery struct {
	namedPage
	Status     string `query:"status" enum:"queued,saving,active,killed" doc:"Only images with this status."`
	Visibility string `query:"visibility" enum:"private,shared,public" doc:"Only images with this visibility."`
}

func imageView(im models.Image) Image {
	if im.Properties == nil {
		im.Properties = map[string]string{}
	}
	im.CreatedAt, im.UpdatedAt = im.CreatedAt.UTC(), im.UpdatedAt.UTC()
	return Image{Image: im, File: "/api/v1/images/" + im.ID + "/file"}
}

func (a *API) listImages(r *http.Request, c models.Caller, in imageQuery) (ImageList, error) {
	p, err := a.Store.ListImages(r.Context(), c, models.ImageFilter{ListOptions: in.options(), Status: in.Status, Visibility: in.Visibility})
	if err != nil {
		return ImageList{}, err
	}
	out := make([]Image, len(p.Items))
	for i, im := range p.Items {
		out[i] = imageView(im)
	}
	return ImageList{Images: out, Next: nextLink(r, p.NextMarker)}, nil
}

// createImage records an image (status queued) in the caller's project; its
// data follows with PUT /images/{id}/file. Only operators may create a
// public image.
func (a *API) createImage(r *http.Request, c models.Caller, in struct {
	Body models.ImageInput `body:"json"`
}) (Image, error) {
	im, err := a.Store.CreateImage(r.Context(), c, in.Body)
	if err != nil {
		return Image{}, err
	}
	return imageView(im), nil
}

// getImage shows an image the caller may see. Compute hosts' service
// accounts (system readers) see every image.
func (a *API) getImage(r *http.Request, c models.Caller, in idPath) (Image, error) {
	im, err := a.Store.GetImage(r.Context(), c, in.ID)
	if err != nil {
		return Image{}, err
	}
	return imageView(im), nil
}

// updateImage changes an image's metadata (the owner project, or an
// operator). Properties merge; an empty value removes a property.
func (a *API) updateImage(r *http.Request, c models.Caller, in struct {
	idPath
	Body models.ImageUpdate `body:"json"`
}) (Image, error) {
	im, err := a.Store.UpdateImage(r.Context(), c, in.ID, in.Body)
	if err != nil {
		return Image{}, err
	}
	return imageView(im), nil
}

// deleteImage removes an image and its data; a protected one is 409.
func (a *API) deleteImage(r *http.Request, c models.Caller, in idPath) (none, error) {
	return none{}, a.Store.DeleteImage(r.Context(), c, in.ID)
}
