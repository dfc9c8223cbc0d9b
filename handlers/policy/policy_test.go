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
