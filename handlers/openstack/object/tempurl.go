package object

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"stratus/handlers/httpx"
)

// Temporary URLs, as Swift's tempurl middleware checks them: the
// signature is an HMAC, keyed with one of the account's or container's
// Temp-URL-Keys, over
//
//	[ip=<range>\n]<METHOD>\n<expires>\n[prefix:]/v1/AUTH_<project>/<container>/<object or prefix>
//
// — the path from /v1/ on, as `swift tempurl` signs it, whatever prefix
// Stratus serves the API under (the full path is accepted as well). The
// digest is SHA-1, SHA-256 or SHA-512: hex, or "<digest>:<base64>".

// tempURLMethods are the methods a temporary URL may sign.
var tempURLMethods = []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete}

// tempURLDigests are the digests accepted, by name and hex length.
var tempURLDigests = []struct {
	name   string
	hexLen int
	new    func() hash.Hash
}{
	{"sha1", 40, sha1.New},
	{"sha256", 64, sha256.New},
	{"sha512", 128, sha512.New},
}

// tempURL is a checked temporary URL.
type tempURL struct {
	method   string
	expires  time.Time
	filename string
	inline   bool
}

// checkTempURL verifies a temporary URL's signature and expiry.
func (a *API) checkTempURL(r *http.Request, q *request) (*tempURL, error) {
	v := r.URL.Query()
	invalid := unauthorized("Temp URL invalid: the signature does not match, or it has expired.")
	if !slices.Contains(tempURLMethods, r.Method) {
		return nil, invalid
	}
	expires, ok := parseExpires(v.Get("temp_url_expires"))
	if !ok || !time.Now().Before(expires) {
		return nil, invalid
	}
	mac, newHash, ok := parseSignature(v.Get("temp_url_sig"))
	if !ok {
		return nil, invalid
	}
	objectPath := "/v1/" + q.account + "/" + q.container + "/" + q.object
	paths := []string{objectPath, Prefix + objectPath}
	if prefix, ok := v["temp_url_prefix"]; ok {
		if !strings.HasPrefix(q.object, prefix[0]) {
			return nil, invalid
		}
		base := "/v1/" + q.account + "/" + q.container + "/" + prefix[0]
		paths = []string{"prefix:" + base, "prefix:" + Prefix + base}
	}
	ipLine := ""
	if ipRange := v.Get("temp_url_ip_range"); ipRange != "" {
		if !ipInRange(httpx.RemoteHost(r), ipRange) {
			return nil, invalid
		}
		ipLine = "ip=" + ipRange + "\n"
	}
	// A HEAD may use a URL signed for GET, HEAD or PUT (Swift's rule).
	methods := []string{r.Method}
	if r.Method == http.MethodHead {
		methods = []string{http.MethodHead, http.MethodGet, http.MethodPut}
	}
	keys, err := a.Store.TempURLKeys(r.Context(), q.project, q.container)
	if err != nil {
		return nil, err
	}
	// The signed text has the Unix time even when the URL carries ISO 8601.
	expText := strconv.FormatInt(expires.Unix(), 10)
	for _, key := range keys {
		for _, m := range methods {
			for _, p := range paths {
				h := hmac.New(newHash, []byte(key))
				h.Write([]byte(ipLine + m + "\n" + expText + "\n" + p))
				if hmac.Equal(h.Sum(nil), mac) {
					_, inline := v["inline"]
					return &tempURL{method: m, expires: expires, filename: v.Get("filename"), inline: inline}, nil
				}
			}
		}
	}
	return nil, invalid
}

// parseExpires reads temp_url_expires: Unix seconds or ISO 8601 UTC.
func parseExpires(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	if t, err := time.Parse("2006-01-02T15:04:05Z", s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// parseSignature decodes temp_url_sig and picks its digest.
func parseSignature(sig string) ([]byte, func() hash.Hash, bool) {
	if name, b64, ok := strings.Cut(sig, ":"); ok {
		for _, d := range tempURLDigests {
			if d.name != name {
				continue
			}
			b64 = strings.TrimRight(b64, "=")
			for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.RawStdEncoding} {
				if mac, err := enc.DecodeString(b64); err == nil && len(mac) == d.hexLen/2 {
					return mac, d.new, true
				}
			}
		}
		return nil, nil, false
	}
	for _, d := range tempURLDigests {
		if len(sig) == d.hexLen {
			mac, err := hex.DecodeString(sig)
			return mac, d.new, err == nil
		}
	}
	return nil, nil, false
}

// ipInRange reports whether ip is the address or in the CIDR range.
func ipInRange(ip, rng string) bool {
	addr := net.ParseIP(ip)
	if addr == nil {
		return false
	}
	if _, n, err := net.ParseCIDR(rng); err == nil {
		return n.Contains(addr)
	}
	return addr.Equal(net.ParseIP(rng))
}

// SignTempURL signs a temporary URL's path (from /v1/ on) as `swift
// tempurl` does, with HMAC-SHA256: the query string to append to the
// object's URL. The web UI uses it.
func SignTempURL(key, method, path string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(method + "\n" + exp + "\n" + path))
	return "temp_url_sig=" + hex.EncodeToString(h.Sum(nil)) + "&temp_url_expires=" + exp
}
