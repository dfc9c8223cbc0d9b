package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzhttp"
)

// compressedTypes are the answers worth compressing: pages and fragments,
// JSON, the front end's CSS and scripts, SVG and plain text. Anything else —
// image data (application/octet-stream), objects, a console — goes as it
// is: it is binary, often compressed already, and may be ranged.
var compressedTypes = []string{
	"text/html", "application/json", "text/css", "text/javascript", "application/javascript",
	"image/svg+xml", "text/plain",
}

// compress answers a client that accepts it with zstd or gzip (its
// Accept-Encoding decides, zstd when both are equally welcome), for the
// types above and bodies of 1 KiB or more; every answer it may compress says
// "Vary: Accept-Encoding" so caches keep the variants apart. It never
// touches what streams bytes: the console's websocket, image and object
// data (uncompressedPath), any Upgrade request. Ranged answers and HEAD are
// left alone by gzhttp itself.
func compress() func(http.Handler) http.Handler {
	wrap, err := gzhttp.NewWrapper(gzhttp.ContentTypes(compressedTypes))
	if err != nil {
		panic(fmt.Sprintf("compression middleware: %v", err)) // only a bad option gets here
	}
	return func(next http.Handler) http.Handler {
		compressed := wrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Upgrade") != "" || uncompressedPath(r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			compressed.ServeHTTP(w, r)
		})
	}
}

// uncompressedPath names the routes whose bytes pass through untouched:
// the console proxy (/console/…), object storage (/object-storage/…) and
// image data (…/images/{id}/file, on the web UI, the API and any facade).
func uncompressedPath(path string) bool {
	return strings.HasPrefix(path, "/console/") || strings.HasPrefix(path, "/object-storage/") ||
		strings.HasSuffix(path, "/file")
}
