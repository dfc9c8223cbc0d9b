package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// runningInstance launches an instance of the demo member and makes it run
// on host h1.
func runningInstance(t *testing.T, b computeBundle) models.Instance {
	t.Helper()
	ctx := context.Background()
	s := b.store
	host, err := s.RegisterHost(ctx, models.HostInventory{Name: "h1", Driver: "fake", VCPUs: 8, RAMMB: 8192, DiskGB: 100, CPURatio: 4, RAMRatio: 1, DiskRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	insts, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: "cirros"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PlaceInstance(ctx, insts[0], host, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishSpawn(ctx, insts[0].ID, "h1", models.PowerRunning); err != nil {
		t.Fatal(err)
	}
	inst, err := s.GetInstance(ctx, b.member, insts[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// otherMember is a second member of the demo project.
func otherMember(t *testing.T, b computeBundle) models.Caller {
	t.Helper()
	ctx := context.Background()
	u, err := b.store.CreateUser(ctx, b.admin, models.UserInput{Name: "bob", Password: "bob-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.AssignRole(ctx, b.admin, models.AssignmentInput{User: u.ID, Project: "demo", Role: "member"}); err != nil {
		t.Fatal(err)
	}
	c, err := b.store.ResolveCaller(ctx, u.ID, b.member.ProjectID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConsoleTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		inst := runningInstance(t, b)
		bob := otherMember(t, b)

		if _, err := s.CreateConsoleToken(ctx, b.member, inst.ID); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("token before the host recorded a VNC port: %v, want conflict", err)
		}
		if err := s.SetConsoleVNC(ctx, inst.ID, "h1", "10.0.0.5", 5901); err != nil {
			t.Fatal(err)
		}
		// Recording again (after a restart) updates the row.
		if err := s.SetConsoleVNC(ctx, inst.ID, "h1", "10.0.0.5", 5902); err != nil {
			t.Fatal(err)
		}
		tok, err := s.CreateConsoleToken(ctx, b.member, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok.Token) < 40 || !tok.ExpiresAt.After(s.Now()) || tok.ExpiresAt.Sub(s.Now()) > 10*time.Minute {
			t.Errorf("token = %+v", tok)
		}

		tests := []struct {
			name   string
			caller models.Caller
			secret string
			ok     bool
		}{
			{"another user of the same project", bob, tok.Token, false},
			{"no token", b.member, "", false},
			{"a wrong token", b.member, tok.Token + "x", false},
			{"the user who asked", b.member, tok.Token, true},
			{"the same token again", b.member, tok.Token, false},
		}
		for _, tt := range tests {
			target, err := s.UseConsoleToken(ctx, tt.caller, tt.secret)
			if tt.ok {
				if err != nil || target.Host != "10.0.0.5" || target.Port != 5902 || target.InstanceID != inst.ID {
					t.Errorf("%s: %+v %v", tt.name, target, err)
				}
			} else if !errors.Is(err, models.ErrUnauthenticated) {
				t.Errorf("%s: %+v %v, want refused", tt.name, target, err)
			}
		}

		// Expired: ten minutes and a second later.
		tok2, err := s.CreateConsoleToken(ctx, b.member, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		now := s.Now()
		s.SetClock(func() time.Time { return now.Add(models.ConsoleTokenTTL + time.Second) })
		if _, err := s.UseConsoleToken(ctx, b.member, tok2.Token); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("expired token: %v", err)
		}
		if n, err := s.PruneConsoleTokens(ctx); err != nil || n != 0 {
			t.Errorf("pruned %d (%v) tokens expired less than an hour ago", n, err)
		}
		s.SetClock(func() time.Time { return now.Add(2 * time.Hour) })
		if n, err := s.PruneConsoleTokens(ctx); err != nil || n != 2 {
			t.Errorf("pruned %d (%v), want both tokens", n, err)
		}
		s.SetClock(time.Now)

		// A stopped instance has no console.
		tok3, err := s.CreateConsoleToken(ctx, b.member, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SyncPowerState(ctx, inst.ID, "h1", models.PowerShutdown, "test", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UseConsoleToken(ctx, b.member, tok3.Token); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("token of a stopped instance: %v", err)
		}
		if _, err := s.CreateConsoleToken(ctx, b.member, inst.ID); !errors.Is(err, models.ErrConflict) {
			t.Errorf("token for a stopped instance: %v", err)
		}
		acts, _ := s.ListInstanceActions(ctx, b.member, inst.ID)
		found := false
		for _, a := range acts {
			found = found || a.Action == "console"
		}
		if !found {
			t.Error("issuing a console token left no action log entry")
		}
	})
}

func TestConsoleTokenOfAnotherProject(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		inst := runningInstance(t, b)
		if err := s.SetConsoleVNC(ctx, inst.ID, "h1", "10.0.0.5", 5901); err != nil {
			t.Fatal(err)
		}
		outsider := models.Caller{UserID: "00000000-0000-0000-0000-000000000001", ProjectID: "00000000-0000-0000-0000-000000000002", ProjectRole: models.RoleMember}
		if _, err := s.CreateConsoleToken(ctx, outsider, inst.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("another project's member got a token: %v", err)
		}
		if _, err := s.ConsoleLog(ctx, outsider, inst.ID, 0); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("another project's member read the console log: %v", err)
		}
	})
}

func TestConsoleLogKeepsTheTail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		inst := runningInstance(t, b)
		if out, err := s.ConsoleLog(ctx, b.member, inst.ID, 10); err != nil || out != "" {
			t.Fatalf("log before any was recorded = %q, %v", out, err)
		}
		var sb strings.Builder
		for sb.Len() < 2*models.MaxConsoleLogBytes {
			sb.WriteString("booting along, line after line\n")
		}
		sb.WriteString("bad bytes: \xff\xfe\x00 end\nlogin: ")
		if err := s.SaveConsoleLog(ctx, inst.ID, "h1", []byte(sb.String())); err != nil {
			t.Fatal(err)
		}
		all, err := s.ConsoleLog(ctx, b.member, inst.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) > models.MaxConsoleLogBytes+16 || !strings.HasSuffix(all, "login: ") {
			t.Errorf("kept %d bytes ending %q", len(all), all[max(0, len(all)-20):])
		}
		last, err := s.ConsoleLog(ctx, b.member, inst.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if last != "bad bytes: \ufffd end\nlogin: " {
			t.Errorf("last 2 lines = %q", last)
		}
		if err := s.DeleteConsole(ctx, inst.ID); err != nil {
			t.Fatal(err)
		}
		if out, _ := s.ConsoleLog(ctx, b.member, inst.ID, 0); out != "" {
			t.Errorf("log after DeleteConsole = %q", out)
		}
	})
}
