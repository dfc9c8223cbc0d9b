package object_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stratus/models"
)

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestAccountContainerObject(t *testing.T) {
	each(t, 0, func(t *testing.T, e *env) {
		e.put("photos", "", "X-Container-Meta-Color", "blue").expect(t, http.StatusCreated)
		e.put("photos", "").expect(t, http.StatusAccepted)
		r := e.put("photos/a/cat.txt", "meow", "ETag", md5hex("meow"), "X-Object-Meta-Owner", "alice", "Content-Disposition", "inline")
		r.expect(t, http.StatusCreated)
		if r.Header.Get("ETag") != md5hex("meow") {
			t.Errorf("PUT ETag %q", r.Header.Get("ETag"))
		}
		e.put("photos/b.txt", "woof").expect(t, http.StatusCreated)

		h := e.do(http.MethodHead, "", e.member, nil).expect(t, http.StatusNoContent).Header
		if h.Get("X-Account-Container-Count") != "1" || h.Get("X-Account-Object-Count") != "2" || h.Get("X-Account-Bytes-Used") != "8" {
			t.Errorf("account headers %v", h)
		}
		h = e.do(http.MethodHead, "photos", e.member, nil).expect(t, http.StatusNoContent).Header
		if h.Get("X-Container-Object-Count") != "2" || h.Get("X-Container-Bytes-Used") != "8" || h.Get("X-Container-Meta-Color") != "blue" {
			t.Errorf("container headers %v", h)
		}
		get := e.do(http.MethodGet, "photos/a/cat.txt", e.reader, nil).expect(t, http.StatusOK)
		if get.body != "meow" || get.Header.Get("X-Object-Meta-Owner") != "alice" || get.Header.Get("Content-Disposition") != "inline" ||
			get.Header.Get("Content-Type") != "text/plain; charset=utf-8" || get.Header.Get("ETag") != md5hex("meow") {
			t.Errorf("GET %q %v", get.body, get.Header)
		}
		// Objects share the UI's origin, so they are sandboxed.
		if csp := get.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") {
			t.Errorf("object CSP %q", csp)
		}

		// POST replaces the metadata.
		e.do(http.MethodPost, "photos/a/cat.txt", e.member, nil, "X-Object-Meta-Mood", "sleepy").expect(t, http.StatusAccepted)
		h = e.do(http.MethodHead, "photos/a/cat.txt", e.member, nil).expect(t, http.StatusOK).Header
		if h.Get("X-Object-Meta-Mood") != "sleepy" || h.Get("X-Object-Meta-Owner") != "" || h.Get("Content-Length") != "4" {
			t.Errorf("after POST %v", h)
		}

		// Listings in every format.
		list := e.do(http.MethodGet, "photos?format=json&delimiter=/", e.member, nil).expect(t, http.StatusOK)
		var items []map[string]any
		if err := json.Unmarshal([]byte(list.body), &items); err != nil || len(items) != 2 || items[0]["subdir"] != "a/" ||
			items[1]["name"] != "b.txt" || items[1]["hash"] != md5hex("woof") || items[1]["bytes"] != float64(4) {
			t.Errorf("json listing %s", list.body)
		}
		if b := e.do(http.MethodGet, "photos", e.member, nil).expect(t, http.StatusOK).body; b != "a/cat.txt\nb.txt\n" {
			t.Errorf("plain listing %q", b)
		}
		if b := e.do(http.MethodGet, "photos?path=a", e.member, nil, "Accept", "application/json").body; !strings.Contains(b, `"name":"a/cat.txt"`) || strings.Contains(b, "b.txt") {
			t.Errorf("path listing %s", b)
		}
		if b := e.do(http.MethodGet, "photos?format=xml&prefix=b", e.member, nil).body; !strings.Contains(b, "<name>b.txt</name>") {
			t.Errorf("xml listing %s", b)
		}
		e.do(http.MethodGet, "photos?prefix=zzz", e.member, nil).expect(t, http.StatusNoContent)
		e.do(http.MethodGet, "photos?limit=10001", e.member, nil).expect(t, http.StatusPreconditionFailed)
		if b := e.do(http.MethodGet, "?format=json", e.member, nil).body; !strings.Contains(b, `"name":"photos","count":2,"bytes":8`) &&
			!strings.Contains(b, `"bytes":8,"count":2`) {
			t.Errorf("account listing %s", b)
		}

		// Delete: a non-empty container is 409.
		e.do(http.MethodDelete, "photos", e.member, nil).expect(t, http.StatusConflict)
		e.do(http.MethodDelete, "photos/a/cat.txt", e.member, nil).expect(t, http.StatusNoContent)
		e.do(http.MethodDelete, "photos/a/cat.txt", e.member, nil).expect(t, http.StatusNotFound)
		e.do(http.MethodDelete, "photos/b.txt", e.member, nil).expect(t, http.StatusNoContent)
		e.do(http.MethodDelete, "photos", e.member, nil).expect(t, http.StatusNoContent)
		if e.blobs() != 0 {
			t.Errorf("%d blobs left", e.blobs())
		}
	})
}

func TestAuthentication(t *testing.T) {
	each(t, 0, func(t *testing.T, e *env) {
		e.do(http.MethodGet, "", "", nil).expect(t, http.StatusUnauthorized)
		e.do(http.MethodGet, "", "stk_not-a-real-token", nil).expect(t, http.StatusUnauthorized)
		e.do(http.MethodPut, "c", e.reader, nil).expect(t, http.StatusForbidden)
		e.do(http.MethodGet, "", e.reader, nil).expect(t, http.StatusNoContent)
		// Another project's account does not exist for you.
		e.do(http.MethodGet, "", e.other, nil).expect(t, http.StatusNotFound)
		e.do(http.MethodGet, "/v1/AUTH_nobody", e.member, nil).expect(t, http.StatusNotFound)
		// TempAuth: swift -A …/auth/v1.0 -U project:user -K password.
		r := e.do(http.MethodGet, "/auth/v1.0", "", nil, "X-Auth-User", "p:alice", "X-Auth-Key", "object-password-1").expect(t, http.StatusOK)
		if r.Header.Get("X-Storage-Url") != e.url("")[:len(e.url(""))-1] || r.Header.Get("X-Auth-Token") == "" {
			t.Errorf("tempauth %v", r.Header)
		}
		e.do(http.MethodGet, "", r.Header.Get("X-Auth-Token"), nil).expect(t, http.StatusNoContent)
		e.do(http.MethodGet, "/auth/v1.0", "", nil, "X-Auth-User", "p:alice", "X-Auth-Key", "wrong").expect(t, http.StatusUnauthorized)
		e.do(http.MethodGet, "/auth/v1.0", "", nil, "X-Auth-User", "q:alice", "X-Auth-Key", "object-password-1").expect(t, http.StatusUnauthorized)
		// /info is public.
		info := e.do(http.MethodGet, "/info", "", nil).expect(t, http.StatusOK)
		var doc map[string]map[string]any
		if err := json.Unmarshal([]byte(info.body), &doc); err != nil || doc["swift"]["max_file_size"] == nil || doc["slo"] == nil || doc["tempurl"] == nil {
			t.Errorf("info %s", info.body)
		}
		e.do(http.MethodPut, "", e.member, nil).expect(t, http.StatusMethodNotAllowed)
		e.do("PATCH", "c/o", e.member, nil).expect(t, http.StatusMethodNotAllowed)
	})
}

// TestRefusals: bad names, ranges, ETags, sizes and quotas are each a
// clear 4xx, and nothing is stored.
func TestRefusals(t *testing.T) {
	each(t, 1000, func(t *testing.T, e *env) {
		e.put("c", "").expect(t, http.StatusCreated)
		e.put("c/keep", "kept").expect(t, http.StatusCreated)
		if _, err := e.s.SetQuotas(context.Background(), models.Caller{UserName: "test", SystemRole: models.RoleAdmin}, e.p,
			map[string]int64{models.QuotaObjectBytes: 604}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name, path, body string
			headers          []string
			status           int
			says             string
		}{
			{"container name too long", strings.Repeat("c", 257), "", nil, http.StatusBadRequest, "limit is 256"},
			{"object name too long", "c/" + strings.Repeat("o", 1025), "x", nil, http.StatusBadRequest, "limit is 1024"},
			{"dot-dot segment", "c/a/../b", "x", nil, http.StatusBadRequest, "'..'"},
			{"control character", "c/a%01b", "x", nil, http.StatusBadRequest, "control"},
			{"bidi override", "c/invoice%E2%80%AEfdp.exe", "x", nil, http.StatusBadRequest, "formatting"},
			{"ETag mismatch", "c/new", "data", []string{"ETag", md5hex("other")}, http.StatusUnprocessableEntity, "ETag mismatch"},
			{"over the single-object limit", "c/new", strings.Repeat("x", 1001), nil, http.StatusRequestEntityTooLarge, "limit"},
			{"over quota", "c/new", strings.Repeat("x", 601), nil, http.StatusRequestEntityTooLarge, "quota"},
			{"expiry in the past", "c/new", "x", []string{"X-Delete-At", "1000"}, http.StatusBadRequest, "past"},
			{"bad expiry", "c/new", "x", []string{"X-Delete-After", "soon"}, http.StatusBadRequest, "X-Delete-After"},
			{"metadata too long", "c/new", "x", []string{"X-Object-Meta-Big", strings.Repeat("v", 257)}, http.StatusBadRequest, "limit is 256"},
			{"bad ACL", "c2", "", []string{"X-Container-Read", "nonsense"}, http.StatusBadRequest, "X-Container-Read"},
			{"no such container", "nope/x", "x", nil, http.StatusNotFound, "not found"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.put(tc.path, tc.body, tc.headers...)
				if r.StatusCode != tc.status || !strings.Contains(r.body, tc.says) {
					t.Errorf("status %d %q, want %d mentioning %q", r.StatusCode, r.body, tc.status, tc.says)
				}
				h := e.do(http.MethodHead, "c", e.member, nil).Header
				if h.Get("X-Container-Object-Count") != "1" || h.Get("X-Container-Bytes-Used") != "4" || e.blobs() != 1 {
					t.Errorf("something was stored: %s objects, %s bytes, %d blobs", h.Get("X-Container-Object-Count"), h.Get("X-Container-Bytes-Used"), e.blobs())
				}
			})
		}
		e.do(http.MethodGet, "c2", e.member, nil).expect(t, http.StatusNotFound)
		e.do(http.MethodGet, "c/keep", e.member, nil, "Range", "bytes=10-20").expect(t, http.StatusRequestedRangeNotSatisfiable)
		e.do(http.MethodGet, "c/keep", e.member, nil, "Range", "bytes=z-").expect(t, http.StatusRequestedRangeNotSatisfiable)
		// Tenants cannot raise their own quota.
		e.do(http.MethodPost, "", e.member, nil, "X-Account-Meta-Quota-Bytes", "99999999").expect(t, http.StatusForbidden)
	})
}

func TestRangesAndConditionalGets(t *testing.T) {
	each(t, 0, func(t *testing.T, e *env) {
		e.put("c", "").expect(t, http.StatusCreated)
		body := "0123456789abcdefghij"
		put := e.put("c/o", body).expect(t, http.StatusCreated)
		etag, lm := put.Header.Get("ETag"), put.Header.Get("Last-Modified")
		r := e.do(http.MethodGet, "c/o", e.member, nil, "Range", "bytes=5-9").expect(t, http.StatusPartialContent)
		if r.body != "56789" || r.Header.Get("Content-Range") != "bytes 5-9/20" {
			t.Errorf("range %q %v", r.body, r.Header)
		}
		if r := e.do(http.MethodGet, "c/o", e.member, nil, "Range", "bytes=-3").expect(t, http.StatusPartialContent); r.body != "hij" {
			t.Errorf("suffix range %q", r.body)
		}
		if r := e.do(http.MethodGet, "c/o", e.member, nil, "Range", "bytes=0-1,18-19").expect(t, http.StatusPartialContent); !strings.Contains(r.body, "01") || !strings.Contains(r.body, "ij") {
			t.Errorf("multiple ranges %q", r.body)
		}
		for _, inm := range []string{etag, `"` + etag + `"`, "*"} {
			e.do(http.MethodGet, "c/o", e.member, nil, "If-None-Match", inm).expect(t, http.StatusNotModified)
		}
		e.do(http.MethodGet, "c/o", e.member, nil, "If-None-Match", "other").expect(t, http.StatusOK)
		e.do(http.MethodGet, "c/o", e.member, nil, "If-Modified-Since", lm).expect(t, http.StatusNotModified)
		e.do(http.MethodGet, "c/o", e.member, nil, "If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT").expect(t, http.StatusOK)
		e.do(http.MethodGet, "c/o", e.member, nil, "If-Match", "nope").expect(t, http.StatusPreconditionFailed)
		e.do(http.MethodGet, "c/o", e.member, nil, "If-Match", etag).expect(t, http.StatusOK)
		e.do(http.MethodGet, "c/o", e.member, nil, "If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT").expect(t, http.StatusPreconditionFailed)
		e.put("c/o", "x", "If-None-Match", "*").expect(t, http.StatusPreconditionFailed)
		e.put("c/fresh", "x", "If-None-Match", "*").expect(t, http.StatusCreated)
	})
}

// TestObjectBytesAreNeverCompressed: a client that accepts gzip gets the
// object's bytes as they were stored, whatever the middleware does to the
// rest of the site.
func TestObjectBytesAreNeverCompressed(t *testing.T) {
	each(t, 0, func(t *testing.T, e *env) {
		e.put("c", "").expect(t, http.StatusCreated)
		text := strings.Repeat("compress me, I am very compressible text. ", 2000)
		e.put("c/doc.txt", text, "Content-Type", "text/plain").expect(t, http.StatusCreated)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write([]byte("already gzipped"))
		_ = zw.Close()
		e.put("c/doc.txt.gz", gz.String(), "Content-Type", "application/gzip", "Content-Encoding", "gzip").expect(t, http.StatusCreated)
		tr := &http.Transport{DisableCompression: true} // see the bytes on the wire
		client := &http.Client{Transport: tr}
		for name, want := range map[string]string{"c/doc.txt": text, "c/doc.txt.gz": gz.String()} {
			req, _ := http.NewRequest(http.MethodGet, e.url(name), nil)
			req.Header.Set("X-Auth-Token", e.member)
			req.Header.Set("Accept-Encoding", "gzip, deflate, br")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantEnc := ""
			if strings.HasSuffix(name, ".gz") {
				wantEnc = "gzip" // the object's own stored header, not the server's doing
			}
			if string(got) != want || resp.Header.Get("Content-Encoding") != wantEnc || resp.Header.Get("Content-Length") != strconv.Itoa(len(want)) {
				t.Errorf("%s: %d bytes, Content-Encoding %q, Content-Length %s", name, len(got), resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Length"))
			}
		}
	})
}

func TestCopy(t *testing.T) {
	each(t, 0, func(t *testing.T, e *env) {
		e.put("a", "").expect(t, http.StatusCreated)
		e.put("b", "").expect(t, http.StatusCreated)
		e.put("a/src", "payload", "X-Object-Meta-Kind", "original", "Content-Type", "text/x-thing").expect(t, http.StatusCreated)
		r := e.do("COPY", "a/src", e.member, nil, "Destination", "b/dst", "X-Object-Meta-Extra", "1").expect(t, http.StatusCreated)
		if r.Header.Get("X-Copied-From") != "a/src" || r.Header.Get("ETag") != md5hex("payload") {
			t.Errorf("COPY %v", r.Header)
		}
		got := e.do(http.MethodGet, "b/dst", e.member, nil).expect(t, http.StatusOK)
		if got.body != "payload" || got.Header.Get("X-Object-Meta-Kind") != "original" || got.Header.Get("X-Object-Meta-Extra") != "1" || got.Header.Get("Content-Type") != "text/x-thing" {
			t.Errorf("copy %q %v", got.body, got.Header)
		}
		e.put("b/fresh", "", "X-Copy-From", "/a/src", "X-Fresh-Metadata", "true").expect(t, http.StatusCreated)
		if h := e.do(http.MethodHead, "b/fresh", e.member, nil).Header; h.Get("X-Object-Meta-Kind") != "" {
			t.Errorf("fresh metadata kept the source's: %v", h)
		}
		e.do("COPY", "a/src", e.member, nil).expect(t, http.StatusPreconditionFailed)
		e.do("COPY", "a/missing", e.member, nil, "Destination", "b/x").expect(t, http.StatusNotFound)
		e.do("COPY", "a/src", e.reader, nil, "Destination", "b/x").expect(t, http.StatusForbidden)
		// Copying out of another project's container needs its ACL.
		e.do(http.MethodPut, "/v1/AUTH_"+e.q+"/theirs", e.other, nil).expect(t, http.StatusCreated)
		e.do(http.MethodPut, "/v1/AUTH_"+e.q+"/theirs/secret", e.other, strings.NewReader("s")).expect(t, http.StatusCreated)
		e.put("b/stolen", "", "X-Copy-From", "theirs/secret", "X-Copy-From-Account", "AUTH_"+e.q).expect(t, http.StatusNotFound)
		e.do(http.MethodPost, "/v1/AUTH_"+e.q+"/theirs", e.other, nil, "X-Container-Read", "p:*").expect(t, http.StatusNoContent)
		e.put("b/shared", "", "X-Copy-From", "theirs/secret", "X-Copy-From-Account", "AUTH_"+e.q).expect(t, http.StatusCreated)
	})
}

func TestStaticLargeObjectsOverHTTP(t *testing.T) {
	each(t, 8, func(t *testing.T, e *env) {
		e.put("c", "").expect(t, http.StatusCreated)
		e.put("c_segments", "").expect(t, http.StatusCreated)
		parts := []string{"01234567", "89abcdef", "ghij"}
		var manifest []map[string]any
		for i, p := range parts {
			name := fmt.Sprintf("big/slo/%08d", i)
			e.put("c_segments/"+name, p).expect(t, http.StatusCreated)
			manifest = append(manifest, map[string]any{"path": "/c_segments/" + name, "etag": md5hex(p), "size_bytes": len(p)})
		}
		e.put("c/big", strings.Join(parts, "")).expect(t, http.StatusRequestEntityTooLarge)
		body, _ := json.Marshal(manifest)
		e.put("c/big?multipart-manifest=put", string(body), "X-Object-Meta-Mtime", "1").expect(t, http.StatusCreated)
		get := e.do(http.MethodGet, "c/big", e.member, nil).expect(t, http.StatusOK)
		if get.body != strings.Join(parts, "") || get.Header.Get("X-Static-Large-Object") != "True" || get.Header.Get("Content-Length") != "20" {
			t.Errorf("SLO GET %q %v", get.body, get.Header)
		}
		if r := e.do(http.MethodGet, "c/big", e.member, nil, "Range", "bytes=6-17").expect(t, http.StatusPartialContent); r.body != "6789abcdefgh" {
			t.Errorf("SLO range %q", r.body)
		}
		m := e.do(http.MethodGet, "c/big?multipart-manifest=get", e.member, nil).expect(t, http.StatusOK)
		var stored []map[string]any
		if err := json.Unmarshal([]byte(m.body), &stored); err != nil || len(stored) != 3 || stored[0]["name"] != "/c_segments/big/slo/00000000" || stored[2]["bytes"] != float64(4) {
			t.Errorf("manifest %s", m.body)
		}
		if b := e.do(http.MethodGet, "c/big?multipart-manifest=get&format=raw", e.member, nil).body; !strings.Contains(b, `"size_bytes":8`) {
			t.Errorf("raw manifest %s", b)
		}
		list := e.do(http.MethodGet, "c?format=json", e.member, nil).body
		if !strings.Contains(list, `"bytes":20`) || !strings.Contains(list, `"slo_etag"`) {
			t.Errorf("listing of an SLO %s", list)
		}
		bad, _ := json.Marshal([]map[string]any{{"path": "/c_segments/big/slo/00000000", "etag": "wrong", "size_bytes": 8}})
		r := e.put("c/bad?multipart-manifest=put", string(bad))
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "Etag Mismatch") {
			t.Errorf("bad manifest %d %s", r.StatusCode, r.body)
		}
		del := e.do(http.MethodDelete, "c/big?multipart-manifest=delete", e.member, nil, "Accept", "application/json").expect(t, http.StatusOK)
		var res map[string]any
		if err := json.Unmarshal([]byte(del.body), &res); err != nil || res["Number Deleted"] != float64(4) || res["Response Status"] != "200 OK" {
			t.Errorf("manifest delete %s", del.body)
		}
		if e.blobs() != 0 {
			t.Errorf("%d blobs left", e.blobs())
		}
	})
}

func TestBulkDelete(t *testing.T) {
	each(t, 0, func(t *testing.T, e *env) {
		e.put("c", "").expect(t, http.StatusCreated)
		e.put("full", "").expect(t, http.StatusCreated)
		e.put("c/a b", "1").expect(t, http.StatusCreated)
		e.put("c/x", "2").expect(t, http.StatusCreated)
		e.put("full/y", "3").expect(t, http.StatusCreated)
		body := "/c/a%20b\n/c/x\n/c/missing\n/full\n/c\n"
		r := e.do(http.MethodPost, "?bulk-delete", e.member, strings.NewReader(body), "Accept", "application/json", "Content-Type", "text/plain").expect(t, http.StatusOK)
		var res struct {
			Deleted  int         `json:"Number Deleted"`
			NotFound int         `json:"Number Not Found"`
			Status   string      `json:"Response Status"`
			Errors   [][2]string `json:"Errors"`
		}
		if err := json.Unmarshal([]byte(r.body), &res); err != nil || res.Deleted != 3 || res.NotFound != 1 ||
			len(res.Errors) != 1 || res.Errors[0][0] != "/full" || res.Errors[0][1] != "409 Conflict" {
			t.Errorf("bulk delete %s", r.body)
		}
		if r := e.do(http.MethodPost, "?bulk-delete", e.reader, strings.NewReader("/full/y\n")); r.StatusCode != http.StatusForbidden {
			t.Errorf("a reader's bulk delete: %d", r.StatusCode)
		}
		plain := e.do(http.MethodDelete, "?bulk-delete", e.member, strings.NewReader("/full/y\n/full\n")).expect(t, http.StatusOK)
		if !strings.Contains(plain.body, "Number Deleted: 2") {
			t.Errorf("plain bulk delete %s", plain.body)
		}
	})
}

func TestExpiry(t *testing.T) {
	each(t, 0, func(t *testing.T, e *env) {
		e.put("c", "").expect(t, http.StatusCreated)
		r := e.put("c/brief", "bye", "X-Delete-After", "60").expect(t, http.StatusCreated)
		_ = r
		h := e.do(http.MethodHead, "c/brief", e.member, nil).expect(t, http.StatusOK).Header
		at, _ := strconv.ParseInt(h.Get("X-Delete-At"), 10, 64)
		if d := time.Until(time.Unix(at, 0)); d < 50*time.Second || d > 61*time.Second {
			t.Errorf("X-Delete-At %s is %v away", h.Get("X-Delete-At"), d)
		}
		later := time.Now().Add(2 * time.Minute)
		e.s.SetClock(func() time.Time { return later })
		e.do(http.MethodGet, "c/brief", e.member, nil).expect(t, http.StatusNotFound)
		if n, err := e.s.ReapExpiredObjects(context.Background(), 10); err != nil || n != 1 {
			t.Errorf("reaped %d %v", n, err)
		}
		if e.blobs() != 0 {
			t.Errorf("the expired object's blob is still there")
		}
	})
}

func TestTempURLs(t *testing.T) {
	each(t, 0, func(t *testing.T, e *env) {
		e.put("c", "").expect(t, http.StatusCreated)
		e.put("c/report.pdf", "%PDF").expect(t, http.StatusCreated)
		e.do(http.MethodPost, "", e.member, nil, "X-Account-Meta-Temp-URL-Key", "sekrit").expect(t, http.StatusNoContent)
		// The key is for those who may write.
		if h := e.do(http.MethodHead, "", e.reader, nil).Header; h.Get("X-Account-Meta-Temp-Url-Key") != "" {
			t.Errorf("a reader sees the temp URL key")
		}
		if h := e.do(http.MethodHead, "", e.member, nil).Header; h.Get("X-Account-Meta-Temp-Url-Key") != "sekrit" {
			t.Errorf("the member does not see the key: %v", h)
		}
		path := "/v1/AUTH_" + e.p + "/c/report.pdf"
		exp := time.Now().Add(time.Hour).Unix()
		for _, sig := range tempURLSignatures("sekrit", "GET", exp, path) {
			r := e.do(http.MethodGet, path+"?"+sig, "", nil)
			if r.StatusCode != http.StatusOK || r.body != "%PDF" || !strings.Contains(r.Header.Get("Content-Disposition"), `filename=report.pdf`) {
				t.Errorf("%s: %d %q %v", sig, r.StatusCode, r.body, r.Header.Get("Content-Disposition"))
			}
		}
		sig := tempURLSignatures("sekrit", "GET", exp, path)[1]
		e.do(http.MethodHead, path+"?"+sig, "", nil).expect(t, http.StatusOK)
		e.do(http.MethodPut, path+"?"+sig, "", strings.NewReader("x")).expect(t, http.StatusUnauthorized)
		e.do(http.MethodGet, "/v1/AUTH_"+e.p+"/c/other?"+sig, "", nil).expect(t, http.StatusUnauthorized)
		old := time.Now().Add(-time.Second).Unix()
		e.do(http.MethodGet, path+"?"+tempURLSignatures("sekrit", "GET", old, path)[1], "", nil).expect(t, http.StatusUnauthorized)
		e.do(http.MethodGet, path+"?"+tempURLSignatures("wrong", "GET", exp, path)[1], "", nil).expect(t, http.StatusUnauthorized)
		// A PUT URL uploads.
		up := "/v1/AUTH_" + e.p + "/c/upload.txt"
		e.do(http.MethodPut, up+"?"+tempURLSignatures("sekrit", "PUT", exp, up)[1], "", strings.NewReader("via temp url")).expect(t, http.StatusCreated)
		if b := e.do(http.MethodGet, "c/upload.txt", e.member, nil).body; b != "via temp url" {
			t.Errorf("uploaded %q", b)
		}
		// A container key signs too; ISO 8601 expiry; prefix URLs.
		e.do(http.MethodPost, "c", e.member, nil, "X-Container-Meta-Temp-URL-Key", "ckey").expect(t, http.StatusNoContent)
		iso := time.Unix(exp, 0).UTC().Format("2006-01-02T15:04:05Z")
		sig = strings.Replace(tempURLSignatures("ckey", "GET", exp, path)[1], strconv.FormatInt(exp, 10), iso, 1)
		e.do(http.MethodGet, path+"?"+sig, "", nil).expect(t, http.StatusOK)
		pre := "prefix:/v1/AUTH_" + e.p + "/c/rep"
		e.do(http.MethodGet, path+"?"+tempURLSignatures("ckey", "GET", exp, pre)[1]+"&temp_url_prefix=rep", "", nil).expect(t, http.StatusOK)
		e.do(http.MethodGet, up+"?"+tempURLSignatures("ckey", "GET", exp, pre)[1]+"&temp_url_prefix=rep", "", nil).expect(t, http.StatusUnauthorized)
	})
}

// TestAccessLists: container ACLs are the only way into another
// project's account.
func TestAccessLists(t *testing.T) {
	each(t, 0, func(t *testing.T, e *env) {
		e.put("private", "").expect(t, http.StatusCreated)
		e.put("private/o", "secret").expect(t, http.StatusCreated)
		e.put("public", "", "X-Container-Read", ".r:*").expect(t, http.StatusCreated)
		e.put("public/o", "hello world").expect(t, http.StatusCreated)
		e.put("shared", "", "X-Container-Read", "q:*", "X-Container-Write", "q:quinn").expect(t, http.StatusCreated)

		e.do(http.MethodGet, "private/o", "", nil).expect(t, http.StatusUnauthorized)
		e.do(http.MethodGet, "private/o", e.other, nil).expect(t, http.StatusNotFound)
		e.do(http.MethodGet, "private", e.other, nil).expect(t, http.StatusNotFound)
		if r := e.do(http.MethodGet, "public/o", "", nil).expect(t, http.StatusOK); r.body != "hello world" {
			t.Errorf("public read %q", r.body)
		}
		e.do(http.MethodGet, "public/o", e.other, nil).expect(t, http.StatusOK)
		e.do(http.MethodGet, "public", "", nil).expect(t, http.StatusUnauthorized) // no .rlistings
		e.do(http.MethodPost, "public", e.member, nil, "X-Container-Read", ".r:*,.rlistings").expect(t, http.StatusNoContent)
		e.do(http.MethodGet, "public", "", nil).expect(t, http.StatusOK)
		e.do(http.MethodPut, "public/o", "", strings.NewReader("x")).expect(t, http.StatusUnauthorized)
		e.do(http.MethodPut, "public/o", e.other, strings.NewReader("x")).expect(t, http.StatusForbidden)
		e.do(http.MethodDelete, "public", e.other, nil).expect(t, http.StatusForbidden)
		// Anonymous and ACL readers do not see the ACLs.
		if h := e.do(http.MethodHead, "public", "", nil).Header; h.Get("X-Container-Read") != "" {
			t.Errorf("an anonymous reader sees the ACL")
		}

		e.do(http.MethodPut, "shared/from-q", e.other, strings.NewReader("hi from q")).expect(t, http.StatusCreated)
		e.do(http.MethodGet, "shared", e.other, nil).expect(t, http.StatusOK)
		e.do(http.MethodGet, "shared/from-q", "", nil).expect(t, http.StatusUnauthorized)
		e.do(http.MethodDelete, "shared/from-q", e.other, nil).expect(t, http.StatusNoContent)
		e.do(http.MethodPost, "shared", e.other, nil, "X-Container-Read", ".r:*").expect(t, http.StatusForbidden)
		// The writes of the other project count in this project's account.
		if h := e.do(http.MethodHead, "", e.member, nil).Header; h.Get("X-Account-Object-Count") != "2" {
			t.Errorf("account after ACL writes: %v", h)
		}
	})
}

// TestAtomicOverwrite: readers racing an overwriter see the old or the new
// object, never a mix; a cancelled upload leaves nothing.
func TestAtomicOverwrite(t *testing.T) {
	each(t, 0, func(t *testing.T, e *env) {
		e.put("c", "").expect(t, http.StatusCreated)
		const size = 256 << 10
		versions := []string{strings.Repeat("a", size), strings.Repeat("b", size)}
		e.put("c/o", versions[0]).expect(t, http.StatusCreated)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; ctx.Err() == nil && i < 40; i++ {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPut, e.url("c/o"), strings.NewReader(versions[i%2]))
				req.Header.Set("X-Auth-Token", e.member)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}()
		var reads atomic.Int64
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url("c/o"), nil)
					req.Header.Set("X-Auth-Token", e.member)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || ctx.Err() != nil {
						return
					}
					if resp.StatusCode != http.StatusOK || (string(b) != versions[0] && string(b) != versions[1]) || resp.Header.Get("ETag") != md5hex(string(b)) {
						t.Errorf("torn read: status %d, %d bytes, ETag %s", resp.StatusCode, len(b), resp.Header.Get("ETag"))
						return
					}
					reads.Add(1)
				}
			}()
		}
		wg.Wait()
		if reads.Load() == 0 {
			t.Fatal("no reads completed")
		}
		// A PUT the client cancelled may still be finishing on the server.
		e.settle(1)
		if h := e.do(http.MethodHead, "c", e.member, nil).Header; h.Get("X-Container-Object-Count") != "1" || h.Get("X-Container-Bytes-Used") != strconv.Itoa(size) || e.blobs() != 1 {
			t.Errorf("after the race: %v, %d blobs", h, e.blobs())
		}

		// An upload the client abandons half-way stores nothing.
		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodPut, e.url("c/abandoned"), pr)
		req.ContentLength = 1 << 20
		req.Header.Set("X-Auth-Token", e.member)
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		_, _ = pw.Write(make([]byte, 64<<10))
		pw.CloseWithError(errors.New("client gave up"))
		<-done
		e.settle(1)
		e.do(http.MethodGet, "c/abandoned", e.member, nil).expect(t, http.StatusNotFound)
		if e.blobs() != 1 {
			t.Errorf("an abandoned upload left %d blobs", e.blobs()-1)
		}
	})
}
