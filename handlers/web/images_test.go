package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// createImage makes an image record through the form and returns its ID
// (from the redirect to its upload page).
func createImage(t *testing.T, br *browser, name string) string {
	t.Helper()
	br.get("/images/new")
	p := br.submit("/images", url.Values{"name": {name}, "visibility": {"private"}, "min_disk": {"1"}, "properties": {"os_distro=debian"}})
	wantStatus(t, p, http.StatusSeeOther)
	id, ok := strings.CutSuffix(strings.TrimPrefix(p.location(), "/images/"), "/upload")
	if !ok || !models.IsUUID(id) {
		t.Fatalf("create went to %q", p.location())
	}
	return id
}

// upload PUTs body to an image's file route as the page's script does.
func (br *browser) upload(path string, body io.Reader, csrf string) (*http.Response, string) {
	br.t.Helper()
	req, err := http.NewRequest(http.MethodPut, br.base+path, body)
	if err != nil {
		br.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
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

func TestImageUploadStreams(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		ctx := context.Background()
		br := c.browser(t)
		br.login("demo", demoPassword)
		id := createImage(t, br, "debian")
		up := br.get("/images/" + id + "/upload")
		form := up.testID("upload-form")
		if form.AttrOr("data-upload", "") != "/images/"+id+"/file" || form.AttrOr("enctype", "") != "multipart/form-data" {
			t.Fatalf("upload form: %v", form.Nodes)
		}

		// Without the CSRF header: refused, nothing read, still queued.
		resp, _ := br.upload("/images/"+id+"/file", strings.NewReader("data"), "")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("upload without CSRF header: %d", resp.StatusCode)
		}
		if im, _ := s.GetImage(ctx, c.demoC, id); im.Status != models.ImageQueued {
			t.Fatalf("a refused upload changed the image to %s", im.Status)
		}

		// The body is a pipe: the first chunk reaches the image store (the
		// image is "saving") while the rest is not even written yet — the
		// server streams, it does not read the body first.
		pr, pw := io.Pipe()
		sum := sha256.New()
		chunk := bytes.Repeat([]byte("stratus!"), 8<<10) // 64 KiB
		streamed := make(chan error, 1)
		go func() {
			defer pw.Close()
			for i := 0; i < 16; i++ {
				if _, err := pw.Write(chunk); err != nil {
					streamed <- err
					return
				}
				sum.Write(chunk)
				if i == 0 {
					deadline := time.Now().Add(10 * time.Second)
					for {
						im, err := s.GetImage(ctx, c.demoC, id)
						if err == nil && im.Status == models.ImageSaving {
							break
						}
						if time.Now().After(deadline) {
							streamed <- io.ErrNoProgress
							return
						}
						time.Sleep(5 * time.Millisecond)
					}
				}
			}
			streamed <- nil
		}()
		resp, text := br.upload("/images/"+id+"/file", pr, br.csrf)
		if err := <-streamed; err != nil {
			t.Fatalf("the image was not saving while its body was still being sent: %v", err)
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(text, "uploaded: 1.0 MiB, raw, active") {
			t.Fatalf("upload: %d %q", resp.StatusCode, text)
		}
		im, err := s.GetImage(ctx, c.demoC, id)
		if err != nil {
			t.Fatal(err)
		}
		if im.Status != models.ImageActive || im.SizeBytes != 16*int64(len(chunk)) || im.Checksum != hex.EncodeToString(sum.Sum(nil)) {
			t.Errorf("stored image: %s, %d bytes, sha256 %s", im.Status, im.SizeBytes, im.Checksum)
		}
		// The flash waits for the page the script goes to next.
		if msg := br.get("/images/" + id).testID("flash").Text(); !strings.Contains(msg, "uploaded") {
			t.Errorf("flash after upload: %q", msg)
		}
		// A second upload is a conflict with the model's message.
		resp, text = br.upload("/images/"+id+"/file", strings.NewReader("again"), br.csrf)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(text, "only once") {
			t.Errorf("second upload: %d %q", resp.StatusCode, text)
		}
		// Another project cannot upload to it (not found).
		eve := c.browser(t)
		eve.login("eve", evePassword)
		if resp, _ := eve.upload("/images/"+id+"/file", strings.NewReader("x"), eve.csrf); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another project's upload: %d", resp.StatusCode)
		}
	})
}

func TestImageUploadWithoutJavaScript(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		br := c.browser(t)
		br.login("demo", demoPassword)
		id := createImage(t, br, "nojs")
		post := func(token string) *page {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			if token != "" {
				_ = mw.WriteField("csrf_token", token)
			}
			fw, _ := mw.CreateFormFile("file", "disk.img")
			_, _ = fw.Write(make([]byte, 8192))
			_ = mw.Close()
			req, _ := http.NewRequest(http.MethodPost, br.base+"/images/"+id+"/file", &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			return br.do(req)
		}
		wantStatus(t, post("wrong-token"), http.StatusForbidden)
		p := post(br.csrf)
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/images/"+id {
			t.Errorf("went to %q", p.location())
		}
		im, _ := s.GetImage(context.Background(), c.demoC, id)
		if im.Status != models.ImageActive || im.SizeBytes != 8192 {
			t.Errorf("image %s, %d bytes", im.Status, im.SizeBytes)
		}
	})
}

func TestImageEditProtectAndDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		c := computeSetup(t, s)
		ctx := context.Background()
		br := c.browser(t)
		br.login("demo", demoPassword)
		list := br.get("/images")
		row := list.testID("image-row-cirros")
		if row.AttrOr("data-status", "") != "active" || !strings.Contains(row.Find(`[data-testid="image-owner"]`).Text(), "this project") {
			t.Errorf("image row: %q", row.Text())
		}

		// Edit: field errors keep input; properties are replaced, not merged.
		br.get("/images/" + c.image.ID)
		p := br.submit("/images/"+c.image.ID, url.Values{"name": {""}, "visibility": {"private"}, "min_ram": {"lots"}, "properties": {"a=1"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.testID("error-min_ram").Text() == "" {
			t.Error("no error beside min RAM")
		}
		if v := p.testID("image-properties").Text(); v != "a=1" {
			t.Errorf("properties not kept: %q", v)
		}
		p = br.submit("/images/"+c.image.ID, url.Values{"name": {"cirros-0.6"}, "visibility": {"public"}, "min_ram": {"64"}, "properties": {"a=1"}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.testID("error-visibility").Text(), "operators") {
			t.Errorf("a member may publish: %q", p.testID("error-visibility").Text())
		}
		if _, err := s.UpdateImage(ctx, c.demoC, c.image.ID, models.ImageUpdate{Properties: map[string]string{"old": "x"}}); err != nil {
			t.Fatal(err)
		}
		p = br.submit("/images/"+c.image.ID, url.Values{"name": {"cirros-0.6"}, "visibility": {"shared"}, "min_ram": {"64"}, "min_disk": {"1"},
			"properties": {"os_distro=cirros\nhw_disk_bus = virtio"}, "protected": {"true"}})
		wantStatus(t, p, http.StatusSeeOther)
		im, _ := s.GetImage(ctx, c.demoC, c.image.ID)
		if im.Name != "cirros-0.6" || im.Visibility != "shared" || im.MinRAMMB != 64 || !im.Protected ||
			im.Properties["os_distro"] != "cirros" || im.Properties["hw_disk_bus"] != "virtio" || im.Properties["old"] != "" {
			t.Errorf("saved image: %+v", im)
		}

		// Protected: delete is refused with the model's message.
		br.get("/images/" + c.image.ID)
		p = br.submit("/images/"+c.image.ID+"/delete", nil)
		wantStatus(t, p, http.StatusSeeOther)
		if msg := br.get(p.location()).testID("flash-error").Text(); !strings.Contains(msg, "protected") {
			t.Errorf("deleting a protected image: flash %q", msg)
		}
		br.submit("/images/"+c.image.ID+"/protected", url.Values{"protected": {"false"}})
		p = br.submit("/images/"+c.image.ID+"/delete", nil)
		wantStatus(t, p, http.StatusSeeOther)
		if p.location() != "/images" {
			t.Errorf("after delete went to %q", p.location())
		}
		if _, err := s.GetImage(ctx, c.demoC, c.image.ID); err == nil {
			t.Error("the image still exists")
		}
	})
}
