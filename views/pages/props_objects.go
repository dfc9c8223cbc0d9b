package pages

import (
	"net/url"
	"path"
	"strings"
	"time"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/ui"
)

// ContainersProps is the Containers panel: the project's containers with
// their counts and sizes, and the form that creates one.
type ContainersProps struct {
	Rows      []ContainerRow
	Account   models.Account
	Form      ui.Form
	Filter    string // a name prefix
	Pager     ui.PagerLinks
	Here      string // this page, where its forms return
	CanCreate bool
	CanUpdate bool
	CanDelete bool
	// StorageURL is the account's Swift URL, for the CLI hint.
	StorageURL string
}

// ContainerRow is one container of the list.
type ContainerRow struct {
	Entry     models.ContainerEntry
	Public    bool
	PublicURL string
}

// ContainerProps is a container (or one of its pseudo-folders): folders
// first by the "/" delimiter, then objects, with the upload form.
type ContainerProps struct {
	Container models.Container
	Public    bool
	PublicURL string // the container's anonymous URL when it is public
	Prefix    string // the pseudo-folder shown ("" for the top)
	Crumbs    []ui.Crumb
	Folders   []FolderRow
	Objects   []ObjectRow
	Pager     ui.PagerLinks
	Here      string
	MaxBytes  int64 // the single-object limit
	CanUpload bool
	CanDelete bool
	CanUpdate bool
	FolderErr string
}

// FolderRow is a pseudo-folder of a listing.
type FolderRow struct {
	Name string // its last segment, for people
	Href string
}

// ObjectRow is an object of a listing.
type ObjectRow struct {
	Entry      models.ObjectEntry
	Name       string // the part after the folder's prefix
	DetailHref string
	FileHref   string
}

// ObjectProps is one object's details and the temporary URL form.
type ObjectProps struct {
	Container  models.Container
	Read       models.ObjectRead
	Meta       [][2]string // metadata headers, sorted
	Crumbs     []ui.Crumb
	FileHref   string
	PublicURL  string // when its container is public
	TempURL    string // a temporary URL just created
	TempUntil  time.Time
	TempForm   ui.Form
	Back       string // the folder it is in
	CanTempURL bool
	CanDelete  bool
}

// ContainerHref is a container's page, at a pseudo-folder.
func ContainerHref(container, prefix string) string {
	h := "/containers/" + url.PathEscape(container)
	if prefix != "" {
		h += "?prefix=" + url.QueryEscape(prefix)
	}
	return h
}

// ObjectHref is an object's page (detail) or its bytes (file).
func ObjectHref(container, name, what string) string {
	return "/containers/" + url.PathEscape(container) + "/" + what + "?name=" + url.QueryEscape(name)
}

// FolderCrumbs are the breadcrumbs of a pseudo-folder: Containers, the
// container, then each folder of the prefix; the last is not a link
// unless last is false (an object's page adds its own name).
func FolderCrumbs(container, prefix string, last bool) []ui.Crumb {
	crumbs := []ui.Crumb{{Label: i18n.N("Containers"), Href: "/containers"}, {Label: container, Href: ContainerHref(container, "")}}
	acc := ""
	for _, seg := range strings.Split(strings.TrimSuffix(prefix, "/"), "/") {
		if seg == "" && acc == "" && prefix == "" {
			break
		}
		acc += seg + "/"
		crumbs = append(crumbs, ui.Crumb{Label: seg, Href: ContainerHref(container, acc)})
	}
	if last {
		crumbs[len(crumbs)-1].Href = ""
	}
	return crumbs
}

// BaseName is the last segment of an object name (what a download saves).
func BaseName(name string) string {
	if b := path.Base(strings.TrimSuffix(name, "/")); b != "." && b != "/" {
		return b
	}
	return name
}

// tempURLChoices are the lifetimes the temporary URL form offers.
func tempURLChoices() []ui.Option {
	return []ui.Option{{Value: "1", Label: i18n.N("1 hour")}, {Value: "24", Label: i18n.N("1 day")}, {Value: "168", Label: i18n.N("7 days")}, {Value: "720", Label: i18n.N("30 days")}}
}

func queryEscape(s string) string { return url.QueryEscape(s) }
