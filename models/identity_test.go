package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

func TestMigrateFromEmptyToHead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		all, err := models.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) != len(all) {
			t.Fatalf("status lists %d migrations, want %d", len(st), len(all))
		}
		for _, m := range st {
			if m.AppliedAt == nil {
				t.Errorf("migration %d (%s) not applied", m.Version, m.Name)
			}
		}
		again, err := s.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate applied %v, err %v; want nothing", again, err)
		}
	})
}

func TestBootstrapIsIdempotentAndGeneratesPasswords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		in := models.BootstrapInput{AdminName: "admin", AdminProject: "admin", DemoProject: "demo", DemoUser: "demo", DemoPassword: "demo-password-1"}
		res, err := s.Bootstrap(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if !res.AdminCreated || !res.AdminPasswordGenerated || len(res.AdminPassword) < 12 {
			t.Fatalf("admin not created with a generated password: %+v", res)
		}
		if !res.DemoCreated || res.DemoPasswordGenerated || res.DemoPassword != "demo-password-1" {
			t.Fatalf("demo user: %+v", res)
		}
		if _, err := s.Login(ctx, models.LoginInput{Username: "admin", Password: res.AdminPassword}); err != nil {
			t.Fatalf("admin cannot log in with the printed password: %v", err)
		}
		res2, err := s.Bootstrap(ctx, in)
		if err != nil || res2.AdminCreated || res2.DemoCreated || res2.AdminPassword != "" {
			t.Fatalf("second bootstrap changed something: %+v %v", res2, err)
		}
		admin, _ := s.GetUser(ctx, "admin")
		c, err := s.ResolveCaller(ctx, admin.ID, "")
		if err != nil || !c.IsSystemAdmin() {
			t.Fatalf("admin is not a system admin: %+v %v", c, err)
		}
		nets, err := s.ListNetworks(ctx, c, models.NetworkFilter{AllProjects: true})
		if err != nil || len(nets.Items) != 0 {
			t.Fatalf("a bootstrap without DemoNetwork made networks: %+v %v", nets.Items, err)
		}
	})
}

func TestBootstrapGivesTheDemoProjectOneNetwork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		in := models.BootstrapInput{AdminName: "admin", AdminProject: "admin", DemoProject: "demo", DemoUser: "demo",
			DemoPassword: "demo-password-1", DemoNetwork: "demo-net", DemoCIDR: "10.0.0.0/24"}
		for range 2 { // the second start finds it and adds nothing
			if _, err := s.Bootstrap(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		u, _ := s.GetUser(ctx, "demo")
		p, _ := s.GetProject(ctx, "demo")
		demo, err := s.ResolveCaller(ctx, u.ID, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		nets, err := s.ListNetworks(ctx, demo, models.NetworkFilter{})
		if err != nil || len(nets.Items) != 1 || nets.Items[0].Name != "demo-net" || len(nets.Items[0].Subnets) != 1 {
			t.Fatalf("demo networks: %+v %v", nets.Items, err)
		}
		sn, err := s.GetSubnet(ctx, demo, nets.Items[0].Subnets[0])
		if err != nil || sn.CIDR != "10.0.0.0/24" || sn.GatewayIP == nil || *sn.GatewayIP != "10.0.0.1" || !sn.EnableDHCP {
			t.Fatalf("demo subnet: %+v %v", sn, err)
		}
		admin, _ := s.GetUser(ctx, "admin")
		op, _ := s.ResolveCaller(ctx, admin.ID, "")
		all, err := s.ListNetworks(ctx, op, models.NetworkFilter{AllProjects: true})
		if err != nil || len(all.Items) != 1 {
			t.Fatalf("networks of every project: %+v %v", all.Items, err)
		}
	})
}

func TestLoginLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		now := time.Now()
		s.SetClock(func() time.Time { return now })
		if _, err := s.CreateUser(ctx, models.Caller{}, models.UserInput{Name: "alice", Password: "correct-horse"}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if _, err := s.Login(ctx, models.LoginInput{Username: "alice", Password: "wrong-password"}); !errors.Is(err, models.ErrUnauthenticated) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		if _, err := s.Login(ctx, models.LoginInput{Username: "alice", Password: "correct-horse"}); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("locked account accepted the right password: %v", err)
		}
		_, errUnknown := s.Login(ctx, models.LoginInput{Username: "nobody", Password: "whatever-pass"})
		if errUnknown == nil || errUnknown.Error() != models.ErrUnauthenticated.Error() {
			t.Fatalf("unknown user error %v differs from wrong password error", errUnknown)
		}
		events, _, err := s.ListAuditEvents(ctx, models.AuditFilter{Action: models.AuditLockout})
		if err != nil || len(events) != 1 || events[0].TargetName != "alice" {
			t.Fatalf("lockout audit: %+v %v", events, err)
		}
		now = now.Add(16 * time.Minute)
		if _, err := s.Login(ctx, models.LoginInput{Username: "alice", Password: "correct-horse"}); err != nil {
			t.Fatalf("lock did not expire: %v", err)
		}
	})
}

func TestTokensScopedAndRevocable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		if _, err := s.Bootstrap(ctx, models.BootstrapInput{AdminName: "admin", AdminProject: "admin", DemoProject: "demo", DemoUser: "demo", DemoPassword: "demo-password-1"}); err != nil {
			t.Fatal(err)
		}
		tok, err := s.IssueLoginToken(ctx, models.LoginInput{Username: "demo", Password: "demo-password-1"}, "demo")
		if err != nil {
			t.Fatal(err)
		}
		if tok.Caller.ProjectName != "demo" || tok.Caller.ProjectRole != models.RoleMember {
			t.Fatalf("caller %+v", tok.Caller)
		}
		if _, err := s.IssueLoginToken(ctx, models.LoginInput{Username: "demo", Password: "demo-password-1"}, "admin"); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("token for a project without a role: %v", err)
		}
		c, err := s.AuthenticateToken(ctx, tok.Secret)
		if err != nil || c.UserName != "demo" {
			t.Fatalf("authenticate: %+v %v", c, err)
		}
		api, err := s.CreateAPIToken(ctx, c, models.APITokenInput{Name: "ci"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, c, api.Token.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AuthenticateToken(ctx, api.Secret); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("revoked token still works: %v", err)
		}
		if _, err := s.AuthenticateToken(ctx, "stk_bogus"); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("bogus token: %v", err)
		}
	})
}
