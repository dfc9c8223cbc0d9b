package openstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	gcos "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/prometheus/client_golang/prometheus"

	"stratus/handlers"
	"stratus/handlers/policy"
	"stratus/models"
	"stratus/workers/allinone"
	"stratus/workers/compute"
	"stratus/workers/hostdrivers"
)

const (
	adminPassword = "admin-password-1"
	demoPassword  = "demo-password-1"
)

// cloud is a whole Stratus on a test server: the HTTP surface over a real
// bootstrapped database (admin: operator with the admin role on project
// admin; demo: member of project demo), and, when started, a scheduler and
// fake compute hosts in the test's process.
type cloud struct {
	t     *testing.T
	store *models.Store
	srv   *httptest.Server
	logs  *bytes.Buffer
}

func newCloud(t *testing.T, s *models.Store, hosts ...string) *cloud {
	t.Helper()
	return newCloudWith(t, s, nil, hosts...)
}

// newCloudWith is newCloud with the hosts' configuration changed by tune
// (volume services, for one).
func newCloudWith(t *testing.T, s *models.Store, tune func(*allinone.Config), hosts ...string) *cloud {
	t.Helper()
	return newCloudOpts(t, s, cloudOpts{tune: tune}, hosts...)
}

// cloudOpts change a test cloud: tune the hosts' configuration, policy
// the rules an operator's policy file overrides.
type cloudOpts struct {
	tune   func(*allinone.Config)
	policy map[string]string
}

func newCloudOpts(t *testing.T, s *models.Store, o cloudOpts, hosts ...string) *cloud {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Bootstrap(ctx, models.BootstrapInput{
		AdminName: "admin", AdminPassword: adminPassword, AdminProject: "admin",
		DemoProject: "demo", DemoUser: "demo", DemoPassword: demoPassword,
	}); err != nil {
		t.Fatal(err)
	}
	policyFile := ""
	if o.policy != nil {
		policyFile = filepath.Join(t.TempDir(), "policy.json")
		b, _ := json.Marshal(o.policy)
		if err := os.WriteFile(policyFile, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	enf, err := policy.New(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	h := handlers.New(handlers.Deps{Store: s, Policy: enf, Log: slog.New(slog.NewTextHandler(logs, nil)),
		Registry: prometheus.NewRegistry(), Config: handlers.DefaultConfig()})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	if len(hosts) > 0 {
		cfg := allinone.Config{
			Store: s, Hosts: hosts, PollInterval: 10 * time.Millisecond,
			OpenHost:        hostdrivers.FakeHosts(hostdrivers.FakeConfig{VCPUs: 64, RAMMB: 262144, DiskGB: 4000, BootDelay: 50 * time.Millisecond}),
			Agent:           compute.Config{HeartbeatInterval: 200 * time.Millisecond, PowerSyncInterval: time.Hour, Workers: 8},
			ServiceDownTime: 10 * time.Second, BuildTimeout: time.Minute,
		}
		if o.tune != nil {
			o.tune(&cfg)
		}
		cl, err := allinone.Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := cl.Stop(); err != nil {
				t.Errorf("stop the cloud: %v", err)
			}
		})
	}
	return &cloud{t: t, store: s, srv: srv, logs: logs}
}

// provider logs in with gophercloud as a user in a project, the way
// Terraform's provider does.
func (c *cloud) provider(user, password, project string) *gophercloud.ProviderClient {
	c.t.Helper()
	p, err := gcos.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: c.srv.URL + "/identity", Username: user, Password: password,
		DomainName: "Default", TenantName: project,
	})
	if err != nil {
		c.t.Fatalf("log in as %s in %s: %v", user, project, err)
	}
	return p
}

var region = gophercloud.EndpointOpts{Region: "RegionOne"}

func (c *cloud) compute(p *gophercloud.ProviderClient, microversion string) *gophercloud.ServiceClient {
	c.t.Helper()
	sc, err := gcos.NewComputeV2(p, region)
	if err != nil {
		c.t.Fatal(err)
	}
	sc.Microversion = microversion
	return sc
}

func (c *cloud) image(p *gophercloud.ProviderClient) *gophercloud.ServiceClient {
	c.t.Helper()
	sc, err := gcos.NewImageV2(p, region)
	if err != nil {
		c.t.Fatal(err)
	}
	return sc
}

func (c *cloud) identity(p *gophercloud.ProviderClient) *gophercloud.ServiceClient {
	c.t.Helper()
	sc, err := gcos.NewIdentityV3(p, region)
	if err != nil {
		c.t.Fatal(err)
	}
	return sc
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
