package api_test

import (
	"net/http"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// TestNamesRefuseHiddenCharacters: every name Stratus stores refuses a
// control character (the terminal escape and bell of issue 7), a
// bidirectional override or isolate, and an invisible formatting character
// — with a 422 naming the field, and nothing written — on every resource
// the API creates or renames.
func TestNamesRefuseHiddenCharacters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		admin, demo := e.admin(), e.demo()
		image := e.activeImage(demo, map[string]any{"name": "img"}, []byte(strings.Repeat("x", 1024)))
		net := e.do(http.MethodPost, "/networks", demo, map[string]any{"name": "net"})
		want(t, net, http.StatusCreated, "")
		netID := net.str("id")

		bad := map[string]string{
			"escape and bell":      "bad\u001b[31m\u0007name",
			"DEL":                  "bad\u007fname",
			"C1 next line":         "bad\u0085name",
			"right-to-left over":   "invoice\u202egnp.exe",
			"first-strong isolate": "a\u2068b",
			"zero-width space":     "ad\u200bmin",
			"left-to-right mark":   "x\u200ey",
			"line separator":       "a\u2028b",
		}
		type target struct {
			method, path, token, field string
			body                       func(name string) map[string]any
		}
		targets := map[string]target{
			"instance": {http.MethodPost, "/instances", demo, "name", func(n string) map[string]any {
				return map[string]any{"name": n, "image": image, "flavor": "m1.nano"}
			}},
			"image":        {http.MethodPost, "/images", demo, "name", func(n string) map[string]any { return map[string]any{"name": n} }},
			"image rename": {http.MethodPatch, "/images/" + image, demo, "name", func(n string) map[string]any { return map[string]any{"name": n} }},
			"flavor":       {http.MethodPost, "/flavors", admin, "name", func(n string) map[string]any { return map[string]any{"name": n, "vcpus": 1, "ram_mb": 128} }},
			"flavor desc": {http.MethodPost, "/flavors", admin, "description", func(n string) map[string]any {
				return map[string]any{"name": "f-ok", "description": n, "vcpus": 1, "ram_mb": 128}
			}},
			"key pair":       {http.MethodPost, "/keypairs", demo, "name", func(n string) map[string]any { return map[string]any{"name": n} }},
			"project":        {http.MethodPost, "/projects", admin, "name", func(n string) map[string]any { return map[string]any{"name": n} }},
			"project desc":   {http.MethodPost, "/projects", admin, "description", func(n string) map[string]any { return map[string]any{"name": "p-ok", "description": n} }},
			"user":           {http.MethodPost, "/users", admin, "name", func(n string) map[string]any { return map[string]any{"name": n, "password": "a-long-password-1"} }},
			"server group":   {http.MethodPost, "/server-groups", demo, "name", func(n string) map[string]any { return map[string]any{"name": n, "policy": "affinity"} }},
			"API token":      {http.MethodPost, "/tokens", demo, "name", func(n string) map[string]any { return map[string]any{"name": n} }},
			"network":        {http.MethodPost, "/networks", demo, "name", func(n string) map[string]any { return map[string]any{"name": n} }},
			"network rename": {http.MethodPatch, "/networks/" + netID, demo, "name", func(n string) map[string]any { return map[string]any{"name": n} }},
			"security group": {http.MethodPost, "/security-groups", demo, "name", func(n string) map[string]any { return map[string]any{"name": n} }},
		}
		count := func() int {
			n := 0
			for path, token := range map[string]string{"/instances": demo, "/images": demo, "/flavors": demo, "/keypairs": demo,
				"/server-groups": demo, "/tokens": demo, "/networks": demo, "/security-groups": demo, "/projects": admin, "/users": admin} {
				for _, v := range e.do(http.MethodGet, path, token, nil).body {
					if items, ok := v.([]any); ok {
						n += len(items)
					}
				}
			}
			return n
		}
		before := count()
		for what, tg := range targets {
			for kind, name := range bad {
				t.Run(what+"/"+kind, func(t *testing.T) {
					r := e.at(t).do(tg.method, tg.path, tg.token, tg.body(name))
					want(t, r, http.StatusUnprocessableEntity, "invalid")
					if msg := r.field(tg.field); !strings.Contains(msg, "control or invisible formatting characters") {
						t.Errorf("fields.%s = %q, want it to name the hidden character", tg.field, msg)
					}
				})
			}
		}
		if after := count(); after != before {
			t.Errorf("refused requests wrote something: %d resources before, %d after", before, after)
		}
		if got := e.do(http.MethodGet, "/images/"+image, demo, nil).str("name"); got != "img" {
			t.Errorf("the image was renamed to %q", got)
		}

		// What a name may hold: any printable text, spaces, other scripts.
		for _, ok := range []string{"web 1", "Ünïcødé 名前", "rocket 🚀", "ﺎﻠﻋﺮﺒﻳﺓ"} {
			r := e.do(http.MethodPost, "/instances", demo, map[string]any{"name": ok, "image": image, "flavor": "m1.nano"})
			want(t, r, http.StatusAccepted, "")
		}
	})
}
