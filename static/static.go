// Package static embeds the built front-end assets (static/dist: CSS built by
// the Tailwind CLI, htmx, noVNC, Stratus' own small scripts) and serves them
// with long cache lifetimes, busting caches by content hash.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed dist
var dist embed.FS

// Assets serves and names the embedded files. Build one with New.
type Assets struct {
	files  fs.FS
	hashes map[string]string // file name → short content hash
}

// New indexes the embedded assets (hashing each file once).
func New() *Assets {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed directive guarantees dist exists
	}
	a := &Assets{files: sub, hashes: map[string]string{}}
	_ = fs.WalkDir(sub, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a.hashes[path] = hex.EncodeToString(sum[:4]) // short: pages repeat the sprite's URL
		return nil
	})
	return a
}

// URL returns the cache-busting URL of an asset, e.g. /static/app.css?v=1a2b3c.
func (a *Assets) URL(name string) string {
	return "/static/" + name + "?v=" + a.hashes[name]
}

// Handler serves the assets under a prefix already stripped of "/static".
// Versioned URLs are immutable; anything else is revalidated.
func (a *Assets) Handler() http.Handler {
	files := http.FileServerFS(a.files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}
