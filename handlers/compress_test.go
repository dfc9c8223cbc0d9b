package handlers_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"

	"stratus/handlers"
	"stratus/handlers/policy"
	"stratus/models"
	"stratus/models/storetest"
	"stratus/static"
)

// rawGet fetches a URL as it travels: the transport neither asks for nor
// undoes a compression (Go's default adds Accept-Encoding: gzip and
// decompresses behind the caller's back). headers are name, value pairs.
func rawGet(t *testing.T, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// decode undoes a response's Content-Encoding.
func decode(t *testing.T, encoding string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch encoding {
	case "":
		return b
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("unexpected Content-Encoding %q", encoding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", encoding, err)
	}
	return out
}

func varies(resp *http.Response) bool {
	for _, v := range resp.Header.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Accept-Encoding") {
				return true
			}
		}
	}
	return false
}

// TestCompressionNegotiation: pages, JSON, CSS and scripts are compressed
// exactly when the client accepts it — zstd or gzip as its Accept-Encoding
// prefers, nothing without one or with q=0 — and always say Vary:
// Accept-Encoding; image data, the console's websocket and object storage
// never are, even when the client would accept it.
func TestCompressionNegotiation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		const pw = "compress-password-1"
		if _, err := s.Bootstrap(ctx, models.BootstrapInput{AdminName: "admin", AdminPassword: pw, AdminProject: "admin"}); err != nil {
			t.Fatal(err)
		}
		tok, err := s.IssueLoginToken(ctx, models.LoginInput{Username: "admin", Password: pw}, "admin")
		if err != nil {
			t.Fatal(err)
		}
		// Image data that would compress 100-fold, were it compressed.
		data := strings.Repeat("stratus image data ", 4096)
		im, err := s.CreateImage(ctx, tok.Caller, models.ImageInput{Name: "text-like"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UploadImage(ctx, tok.Caller, im.ID, strings.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		enf, err := policy.New("")
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(handlers.New(handlers.Deps{Store: s, Policy: enf, Registry: prometheus.NewRegistry(), Config: handlers.DefaultConfig()}))
		t.Cleanup(srv.Close)
		css := static.New().URL("app.css")
		bearer := "Bearer " + tok.Secret

		compressed := []struct {
			name, path, accept, want string
			headers                  []string
		}{
			{"page, gzip", "/login", "gzip", "gzip", nil},
			{"page, browser's list prefers zstd", "/login", "gzip, deflate, br, zstd", "zstd", nil},
			{"page, gzip preferred by q", "/login", "zstd;q=0.5, gzip", "gzip", nil},
			{"page, gzip refused by q=0", "/login", "gzip;q=0", "", nil},
			{"page, no Accept-Encoding", "/login", "", "", nil},
			{"page, only an encoding we do not make", "/login", "br", "", nil},
			{"stylesheet", css, "gzip", "gzip", nil},
			{"script", "/static/htmx.min.js", "zstd", "zstd", nil},
			{"API JSON", "/api/v1/openapi.json", "gzip", "gzip", nil},
			{"API JSON without Accept-Encoding", "/api/v1/openapi.json", "", "", nil},
			{"API list", "/api/v1/flavors", "gzip", "gzip", []string{"Authorization", bearer}},
		}
		for _, tt := range compressed {
			t.Run(tt.name, func(t *testing.T) {
				h := append([]string{"Accept-Encoding", tt.accept}, tt.headers...)
				resp, raw := rawGet(t, srv.URL+tt.path, h...)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d", resp.StatusCode)
				}
				got := resp.Header.Get("Content-Encoding")
				if got != tt.want {
					t.Fatalf("Content-Encoding %q, want %q", got, tt.want)
				}
				if !varies(resp) {
					t.Errorf("Vary %q lacks Accept-Encoding", resp.Header.Values("Vary"))
				}
				body := decode(t, got, raw)
				_, plain := rawGet(t, srv.URL+tt.path, tt.headers...)
				if tt.path != "/login" && !bytes.Equal(body, plain) { // the login page carries a fresh CSRF token each time
					t.Errorf("decoded body (%d bytes) differs from the uncompressed answer (%d bytes)", len(body), len(plain))
				}
				if got != "" && len(raw) >= len(body) {
					t.Errorf("%s answer is %d bytes for %d uncompressed", got, len(raw), len(body))
				}
			})
		}

		never := []struct {
			name, path string
			headers    []string
		}{
			{"image data (API)", "/api/v1/images/" + im.ID + "/file", []string{"Authorization", bearer}},
			{"a range of image data", "/api/v1/images/" + im.ID + "/file", []string{"Authorization", bearer, "Range", "bytes=0-9999"}},
			{"console websocket", "/console/vnc?token=nope", []string{"Connection", "Upgrade", "Upgrade", "websocket",
				"Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}},
			{"object storage", "/object-storage/v1/AUTH_x/c/o", nil},
		}
		for _, tt := range never {
			t.Run("never "+tt.name, func(t *testing.T) {
				resp, raw := rawGet(t, srv.URL+tt.path, append([]string{"Accept-Encoding", "gzip, zstd"}, tt.headers...)...)
				if ce := resp.Header.Get("Content-Encoding"); ce != "" {
					t.Fatalf("Content-Encoding %q (status %d)", ce, resp.StatusCode)
				}
				if strings.Contains(tt.name, "image") {
					if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
						t.Fatalf("status %d", resp.StatusCode)
					}
					if !strings.HasPrefix(data, string(raw)) || len(raw) < 10000 {
						t.Errorf("got %d bytes that are not the image's", len(raw))
					}
				} else if varies(resp) {
					t.Errorf("%s went through the compressor (Vary %q)", tt.path, resp.Header.Values("Vary"))
				}
			})
		}
	})
}
