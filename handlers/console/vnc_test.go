package console_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"stratus/handlers/console"
	"stratus/models"
	"stratus/models/storetest"
)

// fakeVNC is a VNC server that greets every connection as qemu's does.
func fakeVNC(t *testing.T) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("RFB 003.008\n"))
			time.AfterFunc(2*time.Second, func() { c.Close() })
		}
	}()
	a := ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

func TestVNCProxy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		if _, err := s.Bootstrap(ctx, models.BootstrapInput{AdminName: "admin", AdminProject: "admin", AdminPassword: "admin-password-1",
			DemoProject: "demo", DemoUser: "demo", DemoPassword: "demo-password-1"}); err != nil {
			t.Fatal(err)
		}
		admin, _ := s.GetUser(ctx, "admin")
		op, _ := s.ResolveCaller(ctx, admin.ID, "")
		if _, err := s.CreateUser(ctx, op, models.UserInput{Name: "bob", Password: "bob-password-1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AssignRole(ctx, op, models.AssignmentInput{User: "bob", Project: "demo", Role: "member"}); err != nil {
			t.Fatal(err)
		}
		demoTok, err := s.IssueLoginToken(ctx, models.LoginInput{Username: "demo", Password: "demo-password-1"}, "demo")
		if err != nil {
			t.Fatal(err)
		}
		bobTok, err := s.IssueLoginToken(ctx, models.LoginInput{Username: "bob", Password: "bob-password-1"}, "demo")
		if err != nil {
			t.Fatal(err)
		}
		demo := demoTok.Caller
		im, _ := s.CreateImage(ctx, demo, models.ImageInput{Name: "img"})
		if _, err := s.UploadImage(ctx, demo, im.ID, strings.NewReader(strings.Repeat("x", 4096))); err != nil {
			t.Fatal(err)
		}
		host, _ := s.RegisterHost(ctx, models.HostInventory{Name: "h1", Driver: "fake", VCPUs: 8, RAMMB: 8192, DiskGB: 100, CPURatio: 4, RAMRatio: 1, DiskRatio: 1})
		insts, err := s.CreateInstances(ctx, demo, models.InstanceCreate{Name: "vm", Flavor: "m1.nano", Image: im.ID})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PlaceInstance(ctx, insts[0], host, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishSpawn(ctx, insts[0].ID, "h1", models.PowerRunning); err != nil {
			t.Fatal(err)
		}
		vncHost, vncPort := fakeVNC(t)
		if err := s.SetConsoleVNC(ctx, insts[0].ID, "h1", vncHost, vncPort); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(console.New(console.Deps{Store: s}))
		defer srv.Close()
		newURL := func() string {
			tok, err := s.CreateConsoleToken(ctx, demo, insts[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			return "ws" + strings.TrimPrefix(srv.URL, "http") + "/console/vnc?token=" + tok.Token
		}
		dial := func(url, bearer, origin string) (string, int) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			h := http.Header{}
			if bearer != "" {
				h.Set("Authorization", "Bearer "+bearer)
			}
			if origin != "" {
				h.Set("Origin", origin)
			}
			ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{"binary"}})
			if err != nil {
				if resp != nil {
					return "", resp.StatusCode
				}
				t.Fatal(err)
			}
			defer ws.CloseNow()
			_, msg, err := ws.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return string(msg), resp.StatusCode
		}

		url := newURL()
		if _, st := dial(url, "", ""); st != http.StatusUnauthorized {
			t.Errorf("anonymous: %d", st)
		}
		if _, st := dial(url, bobTok.Secret, ""); st != http.StatusForbidden {
			t.Errorf("another member with demo's token: %d", st)
		}
		if msg, st := dial(url, demoTok.Secret, ""); st != http.StatusSwitchingProtocols || msg != "RFB 003.008\n" {
			t.Errorf("demo's own token: %d %q", st, msg)
		}
		if _, st := dial(url, demoTok.Secret, ""); st != http.StatusForbidden {
			t.Errorf("the token again: %d", st)
		}
		// A page of another site cannot open the websocket (cross-site
		// websocket hijacking); the token it spent is gone too.
		if _, st := dial(newURL(), demoTok.Secret, "https://evil.example"); st != http.StatusForbidden {
			t.Errorf("cross-origin: %d", st)
		}
	})
}
