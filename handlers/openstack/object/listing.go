package object

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"stratus/models"
)

// listing reads Swift's listing parameters. path=P lists what is directly
// "in" the pseudo-folder P: prefix P/, delimiter /, without subfolders.
func listing(r *http.Request) (o models.ListingOptions, pathMode bool, err error) {
	v := r.URL.Query()
	o = models.ListingOptions{Prefix: v.Get("prefix"), Delimiter: v.Get("delimiter"), Marker: v.Get("marker"), EndMarker: v.Get("end_marker")}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil || n < 0:
			return o, false, badRequest("limit must be a whole number")
		case n > models.MaxListingLimit:
			return o, false, &swiftError{status: http.StatusPreconditionFailed, msg: fmt.Sprintf("Maximum limit is %d", models.MaxListingLimit)}
		case n == 0:
			n = models.MaxListingLimit
		}
		o.Limit = n
	}
	o.Reverse = truthy(v.Get("reverse"))
	if v.Has("path") {
		p := v.Get("path")
		if p != "" && !strings.HasSuffix(p, "/") {
			p += "/"
		}
		o.Prefix, o.Delimiter, pathMode = p, "/", true
	}
	for _, s := range []string{o.Prefix, o.Delimiter, o.Marker, o.EndMarker} {
		if strings.ContainsRune(s, 0) {
			return o, false, badRequest("listing parameters cannot contain NUL")
		}
	}
	return o, pathMode, nil
}

func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "true", "1", "yes", "on", "t", "y":
		return true
	}
	return false
}

// listingFormat picks json, xml or plain from ?format= or Accept.
func listingFormat(r *http.Request) string {
	switch f := strings.ToLower(r.URL.Query().Get("format")); f {
	case "json", "xml", "plain":
		return f
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		switch mt {
		case "application/json":
			return "json"
		case "application/xml", "text/xml":
			return "xml"
		case "text/plain":
			return "plain"
		}
	}
	return "plain"
}

// writeListing renders a listing body with its Content-Type; an empty
// plain listing is 204, as in Swift.
func writeListing(w http.ResponseWriter, r *http.Request, format string, n int, body []byte) {
	h := w.Header()
	switch format {
	case "json":
		h.Set("Content-Type", "application/json; charset=utf-8")
	case "xml":
		h.Set("Content-Type", "application/xml; charset=utf-8")
	default:
		h.Set("Content-Type", "text/plain; charset=utf-8")
		if n == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// objectListing renders a container's listing.
func objectListing(format, container string, entries []models.ListingEntry[models.ObjectEntry], pathMode bool) (int, []byte) {
	var buf bytes.Buffer
	n := 0
	switch format {
	case "json":
		items := make([]any, 0, len(entries))
		for _, e := range entries {
			if e.Subdir != "" {
				if !pathMode {
					items = append(items, map[string]string{"subdir": e.Subdir})
				}
				continue
			}
			items = append(items, objectJSON(e.Item))
		}
		n = len(items)
		b, _ := json.Marshal(items) // maps of strings and numbers always encode
		buf.Write(b)
	case "xml":
		buf.WriteString(xml.Header)
		fmt.Fprintf(&buf, `<container name="%s">`, xmlText(container))
		for _, e := range entries {
			if e.Subdir != "" {
				if !pathMode {
					fmt.Fprintf(&buf, `<subdir name="%s"><name>%s</name></subdir>`, xmlText(e.Subdir), xmlText(e.Subdir))
					n++
				}
				continue
			}
			it := e.Item
			fmt.Fprintf(&buf, "<object><name>%s</name><hash>%s</hash><bytes>%d</bytes><content_type>%s</content_type><last_modified>%s</last_modified></object>",
				xmlText(it.Name), it.Hash, it.Bytes, xmlText(it.ContentType), models.ListingTime(it.LastModified))
			n++
		}
		buf.WriteString("</container>")
	default:
		for _, e := range entries {
			switch {
			case e.Subdir != "" && !pathMode:
				buf.WriteString(e.Subdir + "\n")
			case e.Subdir == "":
				buf.WriteString(e.Item.Name + "\n")
			default:
				continue
			}
			n++
		}
	}
	return n, buf.Bytes()
}

// objectItem is an object in a JSON listing (a struct: a page has up to
// 10,000 of them, and maps would cost a sort each).
type objectItem struct {
	Hash         string `json:"hash"`
	LastModified string `json:"last_modified"`
	Bytes        int64  `json:"bytes"`
	Name         string `json:"name"`
	ContentType  string `json:"content_type"`
	SLOETag      string `json:"slo_etag,omitempty"`
}

func objectJSON(it models.ObjectEntry) objectItem {
	o := objectItem{Hash: it.Hash, LastModified: models.ListingTime(it.LastModified), Bytes: it.Bytes, Name: it.Name, ContentType: it.ContentType}
	if it.SLOETag != "" {
		o.SLOETag = `"` + it.SLOETag + `"`
	}
	return o
}

// containerListing renders an account's listing.
func containerListing(format, account string, entries []models.ListingEntry[models.ContainerEntry]) (int, []byte) {
	var buf bytes.Buffer
	switch format {
	case "json":
		items := make([]any, 0, len(entries))
		for _, e := range entries {
			if e.Subdir != "" {
				items = append(items, map[string]string{"subdir": e.Subdir})
				continue
			}
			items = append(items, map[string]any{"name": e.Item.Name, "count": e.Item.Count, "bytes": e.Item.Bytes,
				"last_modified": models.ListingTime(e.Item.LastModified)})
		}
		b, _ := json.Marshal(items)
		buf.Write(b)
	case "xml":
		buf.WriteString(xml.Header)
		fmt.Fprintf(&buf, `<account name="%s">`, xmlText(account))
		for _, e := range entries {
			if e.Subdir != "" {
				fmt.Fprintf(&buf, `<subdir name="%s"><name>%s</name></subdir>`, xmlText(e.Subdir), xmlText(e.Subdir))
				continue
			}
			fmt.Fprintf(&buf, "<container><name>%s</name><count>%d</count><bytes>%d</bytes><last_modified>%s</last_modified></container>",
				xmlText(e.Item.Name), e.Item.Count, e.Item.Bytes, models.ListingTime(e.Item.LastModified))
		}
		buf.WriteString("</account>")
	default:
		for _, e := range entries {
			name := e.Subdir
			if name == "" {
				name = e.Item.Name
			}
			buf.WriteString(name + "\n")
		}
	}
	return len(entries), buf.Bytes()
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
