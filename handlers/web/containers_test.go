package web_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// putObject PUTs body to a container's file route as the page's script does.
func (br *browser) putObject(container, name, body, csrf string) (*http.Response, string) {
	br.t.Helper()
	req, err := http.NewRequest(http.MethodPut, br.base+"/containers/"+url.PathEscape(container)+"/file?name="+url.QueryEscape(name), strings.NewReader(body))
	if err != nil {
		br.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := br.c.Do(req)
	if err != nil {
		br.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// anonymous fetches a URL without a session, as anyone on the internet.
func anonymous(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestContainersPanel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		ctx := context.Background()
		br := b.browser(t)
		br.login("demo", demoPassword)

		p := br.get("/containers")
		wantStatus(t, p, http.StatusOK)
		if p.testID("empty-state").Length() != 1 || !strings.Contains(p.testID("swift-hint-command").Text(), "/object-storage/v1/AUTH_"+b.demoProject.ID) {
			t.Errorf("empty panel: %s", p.testID("swift-hint-command").Text())
		}
		p = br.submit("/containers", url.Values{"name": {"photos"}})
		if p.StatusCode != http.StatusSeeOther || p.location() != "/containers/photos" {
			t.Fatalf("create: %d %s", p.StatusCode, p.location())
		}
		wantStatus(t, br.submit("/containers", url.Values{"name": {"photos"}}), http.StatusConflict)
		bad := br.submit("/containers", url.Values{"name": {"a/b"}})
		if bad.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(bad.testID("error-name").Text(), "'/'") {
			t.Errorf("bad name: %d %q", bad.StatusCode, bad.testID("error-name").Text())
		}

		// Upload: the script's PUT (CSRF in a header), then a form without
		// JavaScript with two files.
		br.get("/containers/photos")
		if resp, _ := br.putObject("photos", "docs/a.txt", "alpha", ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("upload without the CSRF header: %d", resp.StatusCode)
		}
		resp, text := br.putObject("photos", "docs/a.txt", "alpha", br.csrf)
		if resp.StatusCode != http.StatusOK || !strings.Contains(text, "Uploaded a.txt") {
			t.Fatalf("upload: %d %q", resp.StatusCode, text)
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("csrf_token", br.csrf)
		for name, data := range map[string]string{"b.txt": "bravo", "c.txt": "charlie"} {
			fw, _ := mw.CreateFormFile("file", name)
			_, _ = fw.Write([]byte(data))
		}
		_ = mw.Close()
		req, _ := http.NewRequest(http.MethodPost, br.base+"/containers/photos/file?prefix=docs%2F", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		p = br.do(req)
		if p.StatusCode != http.StatusSeeOther || p.location() != "/containers/photos?prefix=docs%2F" {
			t.Fatalf("form upload: %d %s", p.StatusCode, p.location())
		}

		// Folders and breadcrumbs.
		p = br.get("/containers/photos?prefix=docs%2F")
		for _, n := range []string{"a.txt", "b.txt", "c.txt"} {
			if p.testID("object-row-"+n).Length() != 1 {
				t.Errorf("no row for %s", n)
			}
		}
		if crumbs := p.doc.Find(`nav[aria-label="Breadcrumb"] li`).Text(); !strings.Contains(crumbs, "Containers") || !strings.Contains(crumbs, "docs") {
			t.Errorf("breadcrumbs %q", crumbs)
		}
		if !strings.Contains(p.testID("flash").Text(), "Uploaded 2 file(s)") {
			t.Errorf("flash after the form upload: %q", p.testID("flash").Text())
		}
		p = br.get("/containers/photos")
		if p.testID("folder-row-docs").Length() != 1 || p.testID("object-row-docs/a.txt").Length() != 0 {
			t.Errorf("top level: %s", p.testID("objects-table").Text())
		}
		if p := br.get("/containers"); p.testID("container-count").Text() != "3" {
			t.Errorf("container count %q", p.testID("container-count").Text())
		}

		// Details, download (never compressed, sandboxed).
		p = br.get("/containers/photos/object?name=docs%2Fa.txt")
		if !strings.Contains(p.testID("object-size").Text(), "5 bytes") || p.testID("object-etag").Text() == "" {
			t.Errorf("details: %q %q", p.testID("object-size").Text(), p.testID("object-etag").Text())
		}
		dl := br.get("/containers/photos/file?name=docs%2Fa.txt", "Accept-Encoding", "gzip")
		if dl.body != "alpha" || dl.Header.Get("Content-Encoding") != "" || !strings.Contains(dl.Header.Get("Content-Disposition"), "filename=a.txt") ||
			!strings.HasPrefix(dl.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("download %q %v", dl.body, dl.Header)
		}

		// Public, then a temporary URL, each fetched by a stranger.
		if st, _ := anonymous(t, b.srv.URL+"/object-storage/v1/AUTH_"+b.demoProject.ID+"/photos/docs/a.txt"); st != http.StatusUnauthorized {
			t.Errorf("a private object read anonymously: %d", st)
		}
		wantStatus(t, br.submit("/containers/photos/access", url.Values{"public": {"true"}}), http.StatusSeeOther)
		p = br.get("/containers/photos")
		pub := p.testID("public-url-input").AttrOr("value", "")
		if st, got := anonymous(t, pub+"docs/a.txt"); st != http.StatusOK || got != "alpha" {
			t.Errorf("public read of %s: %d %q", pub, st, got)
		}
		p = br.submit("/containers/photos/tempurl?name=docs%2Fb.txt", url.Values{"hours": {"1"}})
		wantStatus(t, p, http.StatusOK)
		tmp := p.testID("temp-url-input").AttrOr("value", "")
		wantStatus(t, br.submit("/containers/photos/access", url.Values{"public": {"false"}}), http.StatusSeeOther)
		if st, _ := anonymous(t, pub+"docs/a.txt"); st != http.StatusUnauthorized {
			t.Errorf("private again, but read anonymously: %d", st)
		}
		if st, got := anonymous(t, tmp); st != http.StatusOK || got != "bravo" {
			t.Errorf("temporary URL %s: %d %q", tmp, st, got)
		}
		if st, _ := anonymous(t, strings.Replace(tmp, "b.txt", "c.txt", 1)); st != http.StatusUnauthorized {
			t.Errorf("a temporary URL opened another object: %d", st)
		}

		// Another project sees nothing of it.
		eve := b.browser(t)
		eve.login("eve", evePassword)
		wantStatus(t, eve.get("/containers/photos"), http.StatusNotFound)
		wantStatus(t, eve.get("/containers/photos/file?name=docs%2Fa.txt"), http.StatusNotFound)
		if resp, _ := eve.putObject("photos", "x", "x", eve.csrf); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another project's upload: %d", resp.StatusCode)
		}

		// Delete: a full container stays, with a flash saying why.
		p = br.submit("/containers/photos/delete", url.Values{"next": {"/containers"}})
		if p.StatusCode != http.StatusSeeOther || !strings.Contains(br.get("/containers").testID("flash-error").Text(), "not empty") {
			t.Errorf("delete of a full container: %d", p.StatusCode)
		}
		for _, n := range []string{"docs/a.txt", "docs/b.txt", "docs/c.txt"} {
			wantStatus(t, br.submit("/containers/photos/delete-object?name="+url.QueryEscape(n), nil), http.StatusSeeOther)
		}
		wantStatus(t, br.submit("/containers/photos/delete", nil), http.StatusSeeOther)
		if _, err := s.GetContainer(ctx, b.demoProject.ID, "photos"); err == nil {
			t.Error("the container is still there")
		}
	})
}

// TestContainerUploadRefusals: over the quota or the single-object limit,
// an upload is refused with the reason and stores nothing.
func TestContainerUploadRefusals(t *testing.T) {
	storetest.EachWithOptions(t, func(o *models.Options) { o.MaxObjectBytes = 10 }, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		ctx := context.Background()
		br := b.browser(t)
		br.login("demo", demoPassword)
		if _, _, err := s.CreateContainer(ctx, b.demoProject.ID, "c", models.ContainerChange{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetQuotas(ctx, models.Caller{UserName: "test", SystemRole: models.RoleAdmin}, "demo", map[string]int64{models.QuotaObjects: 1}); err != nil {
			t.Fatal(err)
		}
		br.get("/containers/c")
		if resp, text := br.putObject("c", "big", "more than ten bytes", br.csrf); resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(text, "segments") {
			t.Errorf("too large: %d %q", resp.StatusCode, text)
		}
		if resp, _ := br.putObject("c", "one", "1", br.csrf); resp.StatusCode != http.StatusOK {
			t.Fatalf("first object: %d", resp.StatusCode)
		}
		if resp, text := br.putObject("c", "two", "2", br.csrf); resp.StatusCode != http.StatusForbidden || !strings.Contains(text, "quota") {
			t.Errorf("over quota: %d %q", resp.StatusCode, text)
		}
		if c, _ := s.GetContainer(ctx, b.demoProject.ID, "c"); c.ObjectCount != 1 || c.BytesUsed != 1 {
			t.Errorf("counts %d/%d", c.ObjectCount, c.BytesUsed)
		}
	})
}

// TestContainersPanelDeletesLargeObject: deleting a static large object
// from the panel takes its segments with it, as `swift delete` does.
func TestContainersPanelDeletesLargeObject(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := setup(t, s)
		ctx := context.Background()
		project := b.demoProject.ID
		for _, c := range []string{"big", "big_segments"} {
			if _, _, err := s.CreateContainer(ctx, project, c, models.ContainerChange{}); err != nil {
				t.Fatal(err)
			}
		}
		var segs []models.ManifestSegment
		for _, n := range []string{"0", "1"} {
			if _, err := s.PutObject(ctx, project, "big_segments", n, models.ObjectWrite{ContentLength: 3}, strings.NewReader("abc")); err != nil {
				t.Fatal(err)
			}
			segs = append(segs, models.ManifestSegment{Path: "/big_segments/" + n})
		}
		if _, err := s.PutManifest(ctx, project, "big", "disk.img", models.ObjectWrite{}, segs); err != nil {
			t.Fatal(err)
		}
		br := b.browser(t)
		br.login("demo", demoPassword)
		wantStatus(t, br.submit("/containers/big/delete-object?name=disk.img", nil), http.StatusSeeOther)
		if !strings.Contains(br.get("/containers/big").testID("flash").Text(), "disk.img deleted.") {
			t.Error("no flash says the object was deleted")
		}
		for _, o := range [][2]string{{"big", "disk.img"}, {"big_segments", "0"}, {"big_segments", "1"}} {
			if _, err := s.GetObject(ctx, project, o[0], o[1]); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("%s/%s after the delete: %v", o[0], o[1], err)
			}
		}
	})
}
