package api_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"stratus/models"
	"stratus/models/storetest"
)

func TestKeyPairs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo := e.demo()

		t.Run("import", func(t *testing.T) {
			e := e.at(t)
			pk, _, _ := ed25519.GenerateKey(rand.Reader)
			pub, _ := ssh.NewPublicKey(pk)
			line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " alice@laptop"
			r := e.do(http.MethodPost, "/keypairs", demo, map[string]any{"name": "laptop", "public_key": line})
			want(t, r, http.StatusCreated, "")
			if r.str("fingerprint") != ssh.FingerprintSHA256(pub) || r.str("type") != "ssh-ed25519" || r.body["private_key"] != nil {
				t.Errorf("imported: %s", r.raw)
			}
			bad := e.do(http.MethodPost, "/keypairs", demo, map[string]any{"name": "bad", "public_key": "ssh-rsa not-base64"})
			want(t, bad, http.StatusUnprocessableEntity, "invalid")
			if !strings.Contains(bad.field("public_key"), "OpenSSH") {
				t.Errorf("bad key: %s", bad.raw)
			}
			dup := e.do(http.MethodPost, "/keypairs", demo, map[string]any{"name": "laptop", "public_key": line})
			want(t, dup, http.StatusUnprocessableEntity, "invalid")
			if dup.field("name") == "" {
				t.Errorf("duplicate: %s", dup.raw)
			}
		})

		t.Run("generate: the private key is shown once", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodPost, "/keypairs", demo, map[string]any{"name": "generated"})
			want(t, r, http.StatusCreated, "")
			priv := r.str("private_key")
			if !strings.HasPrefix(priv, "-----BEGIN OPENSSH PRIVATE KEY-----") || r.hdr.Get("Cache-Control") != "no-store" {
				t.Fatalf("generated: %s (Cache-Control %q)", r.raw, r.hdr.Get("Cache-Control"))
			}
			signer, err := ssh.ParsePrivateKey([]byte(priv))
			if err != nil {
				t.Fatal(err)
			}
			if got := ssh.FingerprintSHA256(signer.PublicKey()); got != r.str("fingerprint") {
				t.Errorf("private key's fingerprint %s, public key's %s", got, r.str("fingerprint"))
			}
			for _, path := range []string{"/keypairs/generated", "/keypairs/" + r.str("id"), "/keypairs"} {
				got := e.do(http.MethodGet, path, demo, nil)
				want(t, got, http.StatusOK, "")
				if strings.Contains(string(got.raw), "PRIVATE KEY") || strings.Contains(string(got.raw), "private_key") {
					t.Errorf("GET %s shows the private key: %s", path, got.raw)
				}
			}
		})

		t.Run("list and page", func(t *testing.T) {
			e := e.at(t)
			items, pages := e.pageAll(demo, "/keypairs?limit=1", "keypairs")
			if got := names(items); len(got) != 2 || got[0] != "generated" || got[1] != "laptop" || pages != 2 {
				t.Errorf("%d pages of %v", pages, got)
			}
		})

		t.Run("another project's key pairs are not found", func(t *testing.T) {
			e := e.at(t)
			other := e.tenant("other", "olivia")
			want(t, e.do(http.MethodGet, "/keypairs/laptop", other, nil), http.StatusNotFound, "not_found")
			want(t, e.do(http.MethodDelete, "/keypairs/laptop", other, nil), http.StatusNotFound, "not_found")
			if n := len(e.do(http.MethodGet, "/keypairs", other, nil).list("keypairs")); n != 0 {
				t.Errorf("other project lists %d key pairs", n)
			}
		})

		t.Run("delete", func(t *testing.T) {
			e := e.at(t)
			want(t, e.do(http.MethodDelete, "/keypairs/laptop", demo, nil), http.StatusNoContent, "")
			want(t, e.do(http.MethodGet, "/keypairs/laptop", demo, nil), http.StatusNotFound, "not_found")
		})

		t.Run("quota", func(t *testing.T) {
			e := e.at(t)
			want(t, e.do(http.MethodPut, "/quotas/demo", e.admin(), map[string]any{"keypairs": 1}), http.StatusOK, "")
			r := e.do(http.MethodPost, "/keypairs", demo, map[string]any{"name": "one-too-many"})
			want(t, r, http.StatusForbidden, "quota_exceeded")
			if msg := r.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "keypairs") || !strings.Contains(msg, "1 of 1") {
				t.Errorf("message %q", msg)
			}
		})
	})
}
