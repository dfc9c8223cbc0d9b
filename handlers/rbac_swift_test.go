package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"stratus/handlers/openstack/object"
	"stratus/handlers/policy"
	"stratus/models"
	"stratus/models/storetest"
)

// The Swift API's RBAC matrix, from its route table (object.Routes): on
// project P's account, P's personas get what their role's rule allows;
// everyone else gets what the container's ACL allows — nothing on a
// private container (401 without a token, 404 with one: another tenant's
// container does not exist for you), reads on a public one, and object
// writes to the project named in its write ACL.
func TestSwiftRBACMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := newMatrixEnv(t, s)
		enf, err := policy.New("")
		if err != nil {
			t.Fatal(err)
		}
		routes := object.New(object.Deps{Store: s, Policy: enf}).Routes()
		if len(routes) == 0 {
			t.Fatal("no routes")
		}
		p := e.projects[member]
		for _, rt := range routes {
			for _, container := range []string{"private", "shared"} {
				e.checkSwift(t, rt, p, container)
			}
		}
	})
}

// swiftFixtures (re)creates P's containers before each request, since the
// matrix's own requests delete and change them: "private" (no ACL) and
// "shared" (public reads, writes for project q), each with an object.
func (e *matrixEnv) swiftFixtures(t *testing.T, p string) {
	ctx := context.Background()
	public, write, none := ".r:*,.rlistings", "q:*", ""
	for name, ch := range map[string]models.ContainerChange{
		"private": {ReadACL: &none, WriteACL: &none},
		"shared":  {ReadACL: &public, WriteACL: &write},
	} {
		if _, _, err := e.store.CreateContainer(ctx, p, name, ch); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.PutObject(ctx, p, name, "fixture.txt", models.ObjectWrite{ContentLength: 2}, strings.NewReader("hi")); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *matrixEnv) checkSwift(t *testing.T, rt policy.Route, p, container string) {
	rule := policy.DefaultRule(rt.Action)
	allowed, ok := allowedBy[rule]
	if !ok {
		t.Errorf("swift %s %s: action %s has rule %q, which the matrix has no expectations for", rt.Method, rt.Pattern, rt.Action, rule)
		return
	}
	path := strings.NewReplacer("{account}", "AUTH_"+p, "{container}", container, "{object}", "fixture.txt").Replace(rt.Pattern)
	if strings.Contains(path, "{") {
		t.Errorf("swift %s %s: a parameter the matrix does not know", rt.Method, rt.Pattern)
		return
	}
	level := strings.Count(strings.Split(path, "?")[0], "/")
	if level <= 2 && container == "shared" {
		return // the account (and /info) is the same either way
	}
	read := rt.Action == "object:object:get" || rt.Action == "object:container:get"
	objectWrite := rt.Action == "object:object:create" || rt.Action == "object:object:update" || rt.Action == "object:object:delete"
	for _, who := range personas {
		name := fmt.Sprintf("swift %s %s in %s as %s", rt.Method, rt.Pattern, container, who)
		t.Run(name, func(t *testing.T) {
			e.swiftFixtures(t, p)
			status := e.swiftRequest(t, who, rt.Method, path)
			inP := who == reader || who == member || who == padmin
			shared := container == "shared" && level > 2
			switch {
			case rt.Action == "object:auth":
				// TempAuth without credentials: the login itself refuses.
				expect(t, status == http.StatusUnauthorized, "want 401 (no credentials), got %d", status)
			case policy.DefaultRule(rt.Action) == "public":
				expect(t, status < 400, "a public route refused with %d", status)
			case inP && slicesContains(allowed, who):
				expect(t, status != http.StatusUnauthorized && status != http.StatusForbidden && status < 500,
					"allowed by %q but got %d", rule, status)
			case inP:
				expect(t, status == http.StatusForbidden, "want 403, got %d", status)
			case shared && read:
				expect(t, status < 400, "a public container's read refused with %d", status)
			case shared && objectWrite && who == other:
				expect(t, status < 400 || status == http.StatusNotFound || status == http.StatusConflict,
					"the write ACL names q, but got %d", status)
			case who == anon:
				expect(t, status == http.StatusUnauthorized, "want 401, got %d", status)
			case shared:
				expect(t, status == http.StatusForbidden, "some access but not this: want 403, got %d", status)
			default:
				expect(t, status == http.StatusNotFound, "another project's resource must be 404, got %d", status)
			}
		})
	}
}

// swiftRequest sends one request as a persona (X-Auth-Token, an empty
// body) and returns its status.
func (e *matrixEnv) swiftRequest(t *testing.T, who persona, method, path string) int {
	var body io.Reader
	if method == http.MethodPut || method == http.MethodPost {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, e.srv.URL+object.Prefix+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if tok := e.tokens[who]; tok != "" {
		req.Header.Set("X-Auth-Token", tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
