package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

func TestImageUploadAndDownload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo := e.demo()
		data := diskImage(6<<20 + 12345)
		sum := sha256.Sum256(data)
		checksum := hex.EncodeToString(sum[:])

		r := e.do(http.MethodPost, "/images", demo, map[string]any{"name": "cirros", "min_ram": 64, "properties": map[string]string{"os_distro": "cirros"}})
		want(t, r, http.StatusCreated, "")
		id := r.str("id")
		if r.str("status") != "queued" || r.body["size"] != 0.0 || r.str("file") != "/api/v1/images/"+id+"/file" {
			t.Fatalf("created %s", r.raw)
		}
		want(t, e.do(http.MethodGet, "/images/"+id+"/file", demo, nil), http.StatusConflict, "conflict") // no data yet

		t.Run("the upload is streamed to disk, not buffered", func(t *testing.T) {
			pr, pw := io.Pipe()
			req := httptest.NewRequest(http.MethodPut, "/api/v1/images/"+id+"/file", pr)
			req.Header.Set("Authorization", "Bearer "+demo)
			req.Header.Set("Content-Type", "application/octet-stream")
			rec := httptest.NewRecorder()
			done := make(chan struct{})
			go func() { defer close(done); e.h.ServeHTTP(rec, req) }()

			const first = 4 << 20
			if _, err := pw.Write(data[:first]); err != nil {
				t.Fatal(err)
			}
			// The client has sent 4 MiB and holds the rest back: the 4 MiB
			// must already be in the image store, and the request not done.
			dir := s.Options().ImageDir
			deadline := time.Now().Add(10 * time.Second)
			var onDisk int64
			for onDisk < first && time.Now().Before(deadline) {
				parts, _ := filepath.Glob(filepath.Join(dir, ".upload-*"))
				for _, p := range parts {
					if st, err := os.Stat(p); err == nil {
						onDisk = st.Size()
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
			if onDisk != first {
				t.Fatalf("%d bytes on disk while the client waits, want %d: the body is not streamed", onDisk, first)
			}
			select {
			case <-done:
				t.Fatalf("the upload finished before the body did: %d %s", rec.Code, rec.Body)
			default:
			}
			if _, err := pw.Write(data[first:]); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			<-done
			e.checkRaw(http.MethodPut, "/images/"+id+"/file", rec)
			up := decoded(t, rec)
			want(t, up, http.StatusOK, "")
			if up.str("status") != "active" || up.str("checksum_sha256") != checksum || up.body["size"] != float64(len(data)) ||
				up.str("disk_format") != "qcow2" {
				t.Fatalf("uploaded: %s", up.raw)
			}
			if st, err := os.Stat(filepath.Join(dir, id)); err != nil || st.Size() != int64(len(data)) {
				t.Fatalf("stored file: %v %v", st, err)
			}
		})

		t.Run("data is uploaded once", func(t *testing.T) {
			e := e.at(t)
			again := e.raw(http.MethodPut, "/images/"+id+"/file", demo, bytes.NewReader(data[:1000]), nil)
			want(t, decoded(t, again), http.StatusConflict, "conflict")
		})

		t.Run("download", func(t *testing.T) {
			e := e.at(t)
			rec := e.raw(http.MethodGet, "/images/"+id+"/file", demo, nil, nil)
			h := rec.Header()
			if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), data) {
				t.Fatalf("download: %d, %d bytes", rec.Code, rec.Body.Len())
			}
			wantHeaders := map[string]string{
				"Content-Type":            "application/octet-stream",
				"Content-Length":          fmt.Sprint(len(data)),
				"Etag":                    `"` + checksum + `"`,
				"X-Image-Checksum-Sha256": checksum,
				"Digest":                  "sha-256=" + base64.StdEncoding.EncodeToString(sum[:]),
				"Accept-Ranges":           "bytes",
			}
			for k, v := range wantHeaders {
				if got := h.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})

		t.Run("range", func(t *testing.T) {
			e := e.at(t)
			rec := e.raw(http.MethodGet, "/images/"+id+"/file", demo, nil, map[string]string{"Range": "bytes=1000000-1000999"})
			if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), data[1000000:1001000]) {
				t.Fatalf("range: %d, %d bytes", rec.Code, rec.Body.Len())
			}
			if got, w := rec.Header().Get("Content-Range"), fmt.Sprintf("bytes 1000000-1000999/%d", len(data)); got != w {
				t.Errorf("Content-Range %q, want %q", got, w)
			}
			beyond := e.raw(http.MethodGet, "/images/"+id+"/file", demo, nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(data)+10)})
			want(t, decoded(t, beyond), http.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable")
		})

		t.Run("a cached copy is revalidated by its checksum", func(t *testing.T) {
			e := e.at(t)
			rec := e.raw(http.MethodGet, "/images/"+id+"/file", demo, nil, map[string]string{"If-None-Match": `"` + checksum + `"`})
			if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
				t.Errorf("If-None-Match: %d with %d bytes", rec.Code, rec.Body.Len())
			}
		})

		t.Run("only octet-stream", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/images", demo, map[string]any{"name": "form"})
			rec := e.raw(http.MethodPut, "/images/"+r.str("id")+"/file", demo, strings.NewReader("a=b"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
			want(t, decoded(t, rec), http.StatusUnsupportedMediaType, "unsupported_media_type")
			if got := e.do(http.MethodGet, "/images/"+r.str("id"), demo, nil).str("status"); got != "queued" {
				t.Errorf("a refused upload left the image %s", got)
			}
			// Without a Content-Type (curl -T) is fine.
			rec = e.raw(http.MethodPut, "/images/"+r.str("id")+"/file", demo, strings.NewReader("raw bytes"), nil)
			if up := decoded(t, rec); up.code != http.StatusOK || up.str("disk_format") != "raw" {
				t.Errorf("upload without a Content-Type: %s", up.raw)
			}
		})

		t.Run("an upload cut short is the client's problem, not a server error", func(t *testing.T) {
			e := e.at(t)
			id := e.do(http.MethodPost, "/images", demo, map[string]any{"name": "cut"}).str("id")
			pr, pw := io.Pipe()
			go func() {
				_, _ = pw.Write(data[:100000])
				pw.CloseWithError(io.ErrUnexpectedEOF) // what the server sees when a client drops
			}()
			r := decoded(t, e.raw(http.MethodPut, "/images/"+id+"/file", demo, pr, nil))
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			if !strings.Contains(r.field("file"), "cut short") {
				t.Errorf("%s", r.raw)
			}
			if got := e.do(http.MethodGet, "/images/"+id, demo, nil).str("status"); got != "killed" {
				t.Errorf("status %s, want killed", got)
			}
			if strings.Contains(e.logs.String(), `"level":"ERROR"`) {
				t.Errorf("logged as a server error:\n%s", e.logs)
			}
		})

		t.Run("a declared format must match the data", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/images", demo, map[string]any{"name": "liar", "disk_format": "iso"})
			want(t, r, http.StatusCreated, "")
			rec := e.raw(http.MethodPut, "/images/"+r.str("id")+"/file", demo, bytes.NewReader(data[:70000]), nil)
			bad := decoded(t, rec)
			want(t, bad, http.StatusUnprocessableEntity, "invalid")
			if !strings.Contains(bad.field("disk_format"), "qcow2") {
				t.Errorf("format mismatch: %s", bad.raw)
			}
		})
	})
}

func TestImageSizeLimit(t *testing.T) {
	storetest.EachWithOptions(t, func(o *models.Options) { o.MaxImageBytes = 1 << 20 }, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo := e.demo()
		big := diskImage(2 << 20)

		t.Run("declared too large: refused before reading, image stays queued", func(t *testing.T) {
			e := e.at(t)
			id := e.do(http.MethodPost, "/images", demo, map[string]any{"name": "declared"}).str("id")
			rec := e.raw(http.MethodPut, "/images/"+id+"/file", demo, bytes.NewReader(big), nil) // Content-Length: 2 MiB
			r := decoded(t, rec)
			want(t, r, http.StatusRequestEntityTooLarge, "too_large")
			if !strings.Contains(r.body["error"].(map[string]any)["message"].(string), "1 MiB") {
				t.Errorf("message does not say the limit: %s", r.raw)
			}
			if got := e.do(http.MethodGet, "/images/"+id, demo, nil).str("status"); got != "queued" {
				t.Errorf("status %s, want queued", got)
			}
			ok := e.raw(http.MethodPut, "/images/"+id+"/file", demo, bytes.NewReader(big[:1<<20]), nil)
			if ok.Code != http.StatusOK {
				t.Errorf("exactly the limit: %d %s", ok.Code, ok.Body)
			}
		})

		t.Run("streamed past the limit: stopped there, image killed", func(t *testing.T) {
			e := e.at(t)
			id := e.do(http.MethodPost, "/images", demo, map[string]any{"name": "chunked"}).str("id")
			// A reader of unknown length: sent chunked, no Content-Length.
			rec := e.raw(http.MethodPut, "/images/"+id+"/file", demo, io.MultiReader(bytes.NewReader(big)), nil)
			want(t, decoded(t, rec), http.StatusRequestEntityTooLarge, "too_large")
			if got := e.do(http.MethodGet, "/images/"+id, demo, nil).str("status"); got != "killed" {
				t.Errorf("status %s, want killed", got)
			}
			parts, _ := filepath.Glob(filepath.Join(s.Options().ImageDir, "*"))
			if len(parts) != 1 { // the other subtest's image only
				t.Errorf("image store holds %v", parts)
			}
		})
	})
}

func TestImageRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo, admin := e.demo(), e.admin()
		other := e.tenant("other", "olivia")
		private := e.activeImage(demo, map[string]any{"name": "private"}, []byte("demo's own disk"))

		t.Run("another project's private image is not found", func(t *testing.T) {
			e := e.at(t)
			for _, r := range []resp{
				e.do(http.MethodGet, "/images/"+private, other, nil),
				e.do(http.MethodPatch, "/images/"+private, other, map[string]any{"name": "mine"}),
				e.do(http.MethodDelete, "/images/"+private, other, nil),
			} {
				want(t, r, http.StatusNotFound, "not_found")
			}
			want(t, decoded(t, e.raw(http.MethodGet, "/images/"+private+"/file", other, nil, nil)), http.StatusNotFound, "not_found")
			want(t, decoded(t, e.raw(http.MethodPut, "/images/"+private+"/file", other, strings.NewReader("x"), nil)), http.StatusNotFound, "not_found")
			for _, im := range e.do(http.MethodGet, "/images", other, nil).list("images") {
				if im["id"] == private {
					t.Errorf("listed to another project: %v", im)
				}
			}
		})

		t.Run("only operators publish", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/images", demo, map[string]any{"name": "pub", "visibility": "public"})
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			if r.field("visibility") == "" {
				t.Errorf("%s", r.raw)
			}
			r = e.do(http.MethodPatch, "/images/"+private, demo, map[string]any{"visibility": "public"})
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			public := e.activeImage(admin, map[string]any{"name": "debian", "visibility": "public"}, []byte("a public disk"))
			got := e.do(http.MethodGet, "/images/"+public, other, nil)
			want(t, got, http.StatusOK, "")
			if got.str("visibility") != "public" {
				t.Errorf("%s", got.raw)
			}
			// Seen but not theirs: changing it is refused (it exists, so 403 reveals nothing).
			want(t, e.do(http.MethodDelete, "/images/"+public, other, nil), http.StatusForbidden, "forbidden")
			list := e.do(http.MethodGet, "/images?visibility=public", other, nil)
			if n := len(list.list("images")); n != 1 {
				t.Errorf("%d public images: %s", n, list.raw)
			}
		})

		t.Run("shared with members", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/images", demo, map[string]any{"name": "shared", "visibility": "shared", "members": []string{"other"}})
			want(t, r, http.StatusCreated, "")
			want(t, e.do(http.MethodGet, "/images/"+r.str("id"), other, nil), http.StatusOK, "")
		})

		t.Run("protected images are not deleted", func(t *testing.T) {
			e := e.at(t)
			id := e.activeImage(demo, map[string]any{"name": "keep", "protected": true}, []byte("precious"))
			r := e.do(http.MethodDelete, "/images/"+id, demo, nil)
			want(t, r, http.StatusConflict, "conflict")
			if !strings.Contains(string(r.raw), "protected") {
				t.Errorf("message: %s", r.raw)
			}
			up := e.do(http.MethodPatch, "/images/"+id, demo, map[string]any{"protected": false, "properties": map[string]string{"os_distro": "cirros"}})
			want(t, up, http.StatusOK, "")
			if up.body["protected"] != false || up.body["properties"].(map[string]any)["os_distro"] != "cirros" {
				t.Errorf("patch: %s", up.raw)
			}
			want(t, e.do(http.MethodDelete, "/images/"+id, demo, nil), http.StatusNoContent, "")
			want(t, e.do(http.MethodGet, "/images/"+id, demo, nil), http.StatusNotFound, "not_found")
			if _, err := os.Stat(filepath.Join(s.Options().ImageDir, id)); !os.IsNotExist(err) {
				t.Errorf("the data outlives the image: %v", err)
			}
		})

		t.Run("compute hosts' service accounts read any image", func(t *testing.T) {
			e := e.at(t)
			const pw = "agent-password-1"
			want(t, e.do(http.MethodPost, "/users", admin, map[string]any{"name": "compute-h1", "password": pw}), http.StatusCreated, "")
			want(t, e.do(http.MethodPost, "/role-assignments", admin, map[string]any{"user": "compute-h1", "system": true, "role": "reader"}), http.StatusCreated, "")
			agent := e.login("compute-h1", pw, "")
			want(t, e.do(http.MethodGet, "/images/"+private, agent, nil), http.StatusOK, "")
			rec := e.raw(http.MethodGet, "/images/"+private+"/file", agent, nil, nil)
			if rec.Code != http.StatusOK || rec.Body.String() != "demo's own disk" {
				t.Errorf("agent download: %d %q", rec.Code, rec.Body)
			}
			want(t, decoded(t, e.raw(http.MethodPut, "/images/"+private+"/file", agent, strings.NewReader("x"), nil)), http.StatusForbidden, "forbidden")
		})

		t.Run("list filters and pages", func(t *testing.T) {
			e := e.at(t)
			items, _ := e.pageAll(demo, "/images?limit=1&status=active", "images")
			for _, it := range items {
				if it["status"] != "active" {
					t.Errorf("status filter let %v through", it)
				}
			}
			if got := names(items); len(got) != 2 || got[0] != "debian" || got[1] != "private" {
				t.Errorf("active images %v, want debian (public) and private (own)", got)
			}
			r := e.do(http.MethodGet, "/images?status=deleted", demo, nil)
			want(t, r, http.StatusUnprocessableEntity, "invalid")
		})
	})
}
