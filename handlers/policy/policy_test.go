package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stratus/models"
)

func TestRules(t *testing.T) {
	e, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	reader := &models.Caller{UserID: "u", ProjectID: "p", ProjectRole: models.RoleReader}
	member := &models.Caller{UserID: "u", ProjectID: "p", ProjectRole: models.RoleMember}
	unscoped := &models.Caller{UserID: "u"}
	operator := &models.Caller{UserID: "u", SystemRole: models.RoleAdmin}
	sysReader := &models.Caller{UserID: "u", SystemRole: models.RoleReader}
	roleWithoutProject := &models.Caller{UserID: "u", ProjectRole: models.RoleAdmin} // no ProjectID: must not count
	tests := []struct {
		action string
		caller *models.Caller
		want   bool
	}{
		{"identity:token:issue", nil, true},
		{"identity:me", nil, false},
		{"identity:me", unscoped, true},
		{"compute:instance:list", reader, true},
		{"compute:instance:create", reader, false},
		{"compute:instance:create", member, true},
		{"compute:instance:create", roleWithoutProject, false},
		{"compute:instance:create", operator, false}, // operators act in a project like anyone
		{"identity:user:create", member, false},
		{"identity:user:create", operator, true},
		{"identity:user:create", sysReader, false},
		{"image:download", sysReader, true},
		{"no:such:action", operator, false},
	}
	for _, tt := range tests {
		if got := e.Allowed(tt.caller, tt.action); got != tt.want {
			t.Errorf("Allowed(%+v, %s) = %v, want %v", tt.caller, tt.action, got, tt.want)
		}
	}
}

func TestPolicyFileOverrides(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "policy.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	e, err := New(write(`{"compute:instance:create": "role:admin or system:admin"}`))
	if err != nil {
		t.Fatal(err)
	}
	member := &models.Caller{UserID: "u", ProjectID: "p", ProjectRole: models.RoleMember}
	if e.Allowed(member, "compute:instance:create") {
		t.Error("override ignored: a member may still create instances")
	}
	if !e.Allowed(&models.Caller{UserID: "u", SystemRole: models.RoleAdmin}, "compute:instance:create") {
		t.Error("override's second alternative ignored")
	}
	for body, wantErr := range map[string]string{
		`{"compute:instance:crate": "role:member"}`: "unknown action",
		`{"compute:instance:create": "role:owner"}`: "role must be",
		`{"compute:instance:create": "anyone"}`:     "want role:R",
		`not json`:                                  "policy file",
	} {
		if _, err := New(write(body)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("policy file %s: error %v, want one containing %q", body, err, wantErr)
		}
	}
	if _, err := New(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing policy file was accepted")
	}
}

func TestRequirePanicsOnUnknownAction(t *testing.T) {
	e, _ := New("")
	defer func() {
		if recover() == nil {
			t.Error("Require accepted an action the table lacks")
		}
	}()
	e.Require("no:such:action", nil)
}

func TestMoveRules(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(path, []byte(`{"compute:instance:live_migrate": "role:admin", "compute:instance:resize": "role:admin"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	defaults, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	custom, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	reader := &models.Caller{UserID: "u", ProjectID: "p", ProjectRole: models.RoleReader}
	member := &models.Caller{UserID: "u", ProjectID: "p", ProjectRole: models.RoleMember}
	projectAdmin := &models.Caller{UserID: "u", ProjectID: "p", ProjectRole: models.RoleAdmin}
	operator := &models.Caller{UserID: "u", SystemRole: models.RoleAdmin}
	// Each move's answer for a project reader, a member, a project admin,
	// an operator and nobody logged in: '+' may start it.
	callers := []*models.Caller{reader, member, projectAdmin, operator, nil}
	for name, tc := range map[string]struct {
		e    *Enforcer
		want map[string]string
	}{
		"defaults": {defaults, map[string]string{
			models.ActionResize:        "-++--",
			models.ActionConfirmResize: "+++++", // no rule of its own
			models.ActionRevertResize:  "+++++",
			models.ActionMigrate:       "---+-",
			models.ActionLiveMigrate:   "---+-",
			models.ActionEvacuate:      "---+-",
		}},
		"policy file": {custom, map[string]string{ // each move decided apart
			models.ActionResize:      "--+--",
			models.ActionLiveMigrate: "--+--",
			models.ActionMigrate:     "---+-",
		}},
	} {
		for action, want := range tc.want {
			for i, c := range callers {
				if got := tc.e.AllowedMove(c, action); got != (want[i] == '+') {
					t.Errorf("%s: AllowedMove(%+v, %s) = %v, want %c", name, c, action, got, want[i])
				}
			}
		}
	}
	for _, a := range models.MoveActions() {
		if r := MoveRule(a); r != "" && !defaults.Known(r) {
			t.Errorf("%s needs %q, which the table lacks", a, r)
		}
	}
}
