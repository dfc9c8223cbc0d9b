package systest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// osc runs Debian's openstack CLI (python3-openstackclient) against a
// `stratus dev` with a real clouds.yaml.
type osc struct {
	t   *testing.T
	env []string
}

// run runs `openstack ARGS…` as cloud and returns its standard output; a
// failure stops the test with what the CLI said.
func (o *osc) run(cloud string, args ...string) string {
	o.t.Helper()
	out, err := o.try(cloud, args...)
	if err != nil {
		o.t.Fatalf("openstack %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (o *osc) try(cloud string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openstack", append([]string{"--os-cloud", cloud}, args...)...)
	cmd.Env = o.env
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if err != nil {
		return out.String() + stderr.String(), err
	}
	return out.String(), nil
}

// json runs a command with -f json and decodes its output.
func (o *osc) json(cloud string, v any, args ...string) {
	o.t.Helper()
	out := o.run(cloud, append(args, "-f", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		o.t.Fatalf("openstack %s: not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// eventually re-runs a show command until check passes.
func (o *osc) eventually(what string, check func() bool) {
	o.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			o.t.Fatalf("%s: not after 30 s", what)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestOpenStackCLI drives `stratus dev` (fake hypervisor) with the openstack
// CLI through the flows an OpenStack user relies on, checking what each
// command prints: tokens and the catalog, flavors, images with a file,
// key pairs, a server's whole life, and identity administration as an
// operator.
func TestOpenStackCLI(t *testing.T) {
	if _, err := exec.LookPath("openstack"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the openstack CLI is missing: .ci/deps installs python3-openstackclient")
		}
		t.Skip("the openstack CLI is not installed (apt-get install python3-openstackclient)")
	}
	bin := stratusBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	dev := exec.Command(bin, "dev", "--driver", "fake", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", dir,
		"--bcrypt-cost", "4", "--fake-boot-delay", "200ms", "--public-url", url)
	dev.Env = append(os.Environ(), "STRATUS_ADMIN_PASSWORD=admin-secret-1", "STRATUS_DEMO_PASSWORD=demo-secret-1")
	logFile, err := os.Create(filepath.Join(dir, "dev.log"))
	if err != nil {
		t.Fatal(err)
	}
	dev.Stdout, dev.Stderr = logFile, logFile
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = dev.Process.Signal(os.Interrupt)
		_ = dev.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("stratus dev log:\n%s", b)
		}
	})
	waitReady(t, url)

	clouds := fmt.Sprintf(`clouds:
  admin:
    auth: {auth_url: %[1]s/identity, username: admin, password: admin-secret-1, project_name: admin, user_domain_name: Default, project_domain_name: Default}
    region_name: RegionOne
  demo:
    auth: {auth_url: %[1]s/identity, username: demo, password: demo-secret-1, project_name: demo, user_domain_name: Default, project_domain_name: Default}
    region_name: RegionOne
  alice:
    auth: {auth_url: %[1]s/identity, username: alice, password: alice-secret-1, project_name: team, user_domain_name: Default, project_domain_name: Default}
    region_name: RegionOne
`, url)
	cfg := filepath.Join(dir, "clouds.yaml")
	if err := os.WriteFile(cfg, []byte(clouds), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &osc{t: t, env: append(os.Environ(), "OS_CLIENT_CONFIG_FILE="+cfg, "HOME="+dir)}

	// Token and catalog.
	var tok map[string]string
	o.json("demo", &tok, "token", "issue")
	if !strings.HasPrefix(tok["id"], "stk_") || tok["project_id"] == "" {
		t.Fatalf("token issue: %v", tok)
	}
	var cat []struct {
		Name, Type string
		Endpoints  []map[string]string
	}
	o.json("demo", &cat, "catalog", "list")
	services := map[string]string{}
	for _, e := range cat {
		for _, ep := range e.Endpoints {
			if ep["interface"] == "public" {
				services[e.Type] = ep["url"]
			}
		}
	}
	if services["identity"] != url+"/identity" || services["compute"] != url+"/compute/v2.1" || services["image"] != url+"/image" ||
		services["network"] != url+"/network" {
		t.Fatalf("catalog list: %v", services)
	}

	// Flavors.
	var flavors []map[string]any
	o.json("demo", &flavors, "flavor", "list")
	if len(flavors) < 5 || flavors[0]["Name"] != "m1.nano" || flavors[0]["RAM"] != float64(128) {
		t.Fatalf("flavor list: %v", flavors)
	}

	// An image from a file: checksums, download, delete.
	data := bytes.Repeat([]byte("stratus-cli "), 100000)
	file := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var im map[string]any
	o.json("demo", &im, "image", "create", "--file", file, "--disk-format", "raw", "--container-format", "bare", "busybox")
	o.json("demo", &im, "image", "show", "busybox")
	sum := md5.Sum(data)
	if im["status"] != "active" || im["checksum"] != hex.EncodeToString(sum[:]) || im["size"] != float64(len(data)) || im["container_format"] != "bare" {
		t.Fatalf("image show: %v", im)
	}
	o.run("demo", "image", "save", "--file", filepath.Join(dir, "back.img"), "busybox")
	if back, _ := os.ReadFile(filepath.Join(dir, "back.img")); !bytes.Equal(back, data) {
		t.Fatalf("image save: %d bytes back of %d", len(back), len(data))
	}
	o.json("demo", &im, "image", "create", "--file", file, "--disk-format", "raw", "--container-format", "bare", "scratch")
	o.run("demo", "image", "delete", "scratch")
	var images []map[string]any
	o.json("demo", &images, "image", "list")
	if len(images) != 1 || images[0]["Name"] != "busybox" {
		t.Fatalf("image list after delete: %v", images)
	}

	// Key pairs.
	priv := o.run("demo", "keypair", "create", "k1")
	if !strings.HasPrefix(priv, "-----BEGIN OPENSSH PRIVATE KEY-----") {
		t.Fatalf("keypair create printed %q", priv)
	}
	o.run("demo", "keypair", "create", "scratch")
	o.run("demo", "keypair", "delete", "scratch")
	var keys []map[string]any
	o.json("demo", &keys, "keypair", "list")
	if len(keys) != 1 || keys[0]["Name"] != "k1" || !strings.Contains(keys[0]["Fingerprint"].(string), ":") {
		t.Fatalf("keypair list: %v", keys)
	}

	// A server's life.
	var srv map[string]any
	start := time.Now()
	o.json("demo", &srv, "server", "create", "--flavor", "m1.nano", "--image", "busybox", "--key-name", "k1", "--wait", "vm1")
	t.Logf("server create --wait: %s", time.Since(start).Round(time.Millisecond))
	if srv["status"] != "ACTIVE" || srv["key_name"] != "k1" || !strings.HasPrefix(srv["flavor"].(string), "m1.nano") {
		t.Fatalf("server create: %v", srv)
	}
	id := srv["id"].(string)
	o.json("demo", &srv, "--os-compute-api-version", "2.79", "server", "create", "--flavor", "m1.nano", "--image", "busybox",
		"--nic", "none", "--wait", "vm2")
	if srv["status"] != "ACTIVE" {
		t.Fatalf("server create --nic none: %v", srv)
	}
	var list []map[string]any
	o.json("demo", &list, "server", "list")
	if len(list) != 2 || list[0]["Status"] != "ACTIVE" || list[0]["Image"] != "busybox" || list[0]["Flavor"] != "m1.nano" {
		t.Fatalf("server list: %v", list)
	}
	status := func(name, want string) func() bool {
		return func() bool {
			var s map[string]any
			o.json("demo", &s, "server", "show", name)
			return s["status"] == want
		}
	}
	o.run("demo", "server", "stop", "vm1")
	o.eventually("vm1 SHUTOFF", status("vm1", "SHUTOFF"))
	o.run("demo", "server", "start", "vm1")
	o.eventually("vm1 ACTIVE", status("vm1", "ACTIVE"))
	o.run("demo", "server", "reboot", "--wait", "vm1")
	o.eventually("vm1 ACTIVE after reboot", status("vm1", "ACTIVE"))

	// The console log as the host recorded it (the fake hypervisor has no
	// serial console: the test records one as an agent would).
	store, err := models.Open(context.Background(), "sqlite://"+filepath.Join(dir, "stratus.db"), storetest.Options(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SaveConsoleLog(context.Background(), id, "dev-1", []byte("boot line 1\nSTRATUS-GUEST-UP\n")); err != nil {
		t.Fatal(err)
	}
	store.Close()
	if out := o.run("demo", "console", "log", "show", "--lines", "1", "vm1"); strings.TrimSpace(out) != "STRATUS-GUEST-UP" {
		t.Fatalf("console log show: %q", out)
	}
	var events []map[string]any
	o.json("demo", &events, "server", "event", "list", "vm1")
	var actions []string
	for _, e := range events {
		actions = append(actions, e["Action"].(string))
	}
	if strings.Join(actions, ",") != "reboot,start,stop,create" {
		t.Fatalf("server event list: %v", actions)
	}
	// Block storage: a volume, attached through the server and detached,
	// a snapshot of it while in use, deleted.
	var vol map[string]any
	o.json("demo", &vol, "volume", "create", "--size", "1", "--description", "scratch space", "data")
	if vol["size"] != float64(1) || vol["name"] != "data" {
		t.Fatalf("volume create: %v", vol)
	}
	volStatus := func(want string) func() bool {
		return func() bool {
			o.json("demo", &vol, "volume", "show", "data")
			return vol["status"] == want
		}
	}
	o.eventually("volume available", volStatus("available"))
	var vols []map[string]any
	o.json("demo", &vols, "volume", "list")
	if len(vols) != 1 || vols[0]["Name"] != "data" || vols[0]["Size"] != float64(1) || vols[0]["Status"] != "available" {
		t.Fatalf("volume list: %v", vols)
	}
	o.run("demo", "server", "add", "volume", "vm1", "data")
	o.eventually("volume in-use", volStatus("in-use"))
	if !strings.Contains(fmt.Sprint(vol["attachments"]), id) {
		t.Fatalf("volume show after server add volume: attachments %v", vol["attachments"])
	}
	var withVol map[string]any
	o.json("demo", &withVol, "server", "show", "vm1")
	if !strings.Contains(fmt.Sprint(withVol["volumes_attached"]), fmt.Sprint(vol["id"])) {
		t.Fatalf("server show after server add volume: volumes_attached %v, want volume %v", withVol["volumes_attached"], vol["id"])
	}
	var snapshot map[string]any
	o.json("demo", &snapshot, "volume", "snapshot", "create", "--volume", "data", "--force", "snap1")
	o.eventually("snapshot available", func() bool {
		o.json("demo", &snapshot, "volume", "snapshot", "show", "snap1")
		return snapshot["status"] == "available"
	})
	o.run("demo", "server", "remove", "volume", "vm1", "data")
	o.eventually("volume available after remove", volStatus("available"))
	o.run("demo", "volume", "snapshot", "delete", "snap1")
	o.eventually("snapshot gone", func() bool {
		var snaps []map[string]any
		o.json("demo", &snaps, "volume", "snapshot", "list")
		return len(snaps) == 0
	})
	o.run("demo", "volume", "delete", "data")
	o.eventually("volume gone", func() bool {
		o.json("demo", &vols, "volume", "list")
		return len(vols) == 0
	})

	o.run("demo", "server", "delete", "--wait", "vm1", "vm2")
	o.json("demo", &list, "server", "list")
	if len(list) != 0 {
		t.Fatalf("server list after delete: %v", list)
	}

	// Networking: a network, a subnet, a port, a security group and rule;
	// servers on the network and on the port with their addresses.
	var res map[string]any
	o.json("demo", &res, "network", "create", "net1")
	if res["status"] != "ACTIVE" || res["mtu"] != float64(1450) {
		t.Fatalf("network create: %v", res)
	}
	o.json("demo", &res, "subnet", "create", "--network", "net1", "--subnet-range", "10.9.0.0/24", "sub1")
	if res["gateway_ip"] != "10.9.0.1" || res["cidr"] != "10.9.0.0/24" {
		t.Fatalf("subnet create: %v", res)
	}
	o.json("demo", &res, "port", "create", "--network", "net1", "--fixed-ip", "subnet=sub1,ip-address=10.9.0.50", "p1")
	if !strings.Contains(fmt.Sprint(res["fixed_ips"]), "10.9.0.50") {
		t.Fatalf("port create: %v", res)
	}
	o.json("demo", &res, "security", "group", "create", "web")
	o.json("demo", &res, "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "--ingress", "web")
	if res["port_range_min"] != float64(22) || res["protocol"] != "tcp" || res["direction"] != "ingress" {
		t.Fatalf("security group rule create: %v", res)
	}
	ruleID := res["id"].(string)
	var rows []map[string]any
	o.json("demo", &rows, "security", "group", "rule", "list", "web")
	if len(rows) != 2 { // the egress rule every group starts with, and ours
		t.Fatalf("security group rule list: %v", rows)
	}
	o.json("demo", &srv, "server", "create", "--flavor", "m1.nano", "--image", "busybox", "--network", "net1",
		"--security-group", "web", "--wait", "vm-net")
	o.json("demo", &srv, "server", "create", "--flavor", "m1.nano", "--image", "busybox", "--port", "p1", "--wait", "vm-port")
	o.json("demo", &list, "server", "list")
	nets := map[string]string{}
	for _, s := range list {
		nets[s["Name"].(string)] = fmt.Sprint(s["Networks"])
	}
	if !strings.Contains(nets["vm-port"], "10.9.0.50") || !strings.Contains(nets["vm-net"], "10.9.0.") {
		t.Fatalf("server list networks: %v", nets)
	}
	// Lists decode into fresh slices: json.Unmarshal reuses the maps of a
	// slice it decodes into again, merging the old rows' keys.
	listNames := func(args ...string) []string {
		var rows []map[string]any
		o.json("demo", &rows, args...)
		names := make([]string, len(rows))
		for i, r := range rows {
			names[i] = fmt.Sprint(r["Name"])
		}
		slices.Sort(names)
		return names
	}
	if got := listNames("network", "list"); !slices.Equal(got, []string{"demo-net", "net1", "public"}) { // demo-net and the external public: stratus dev's
		t.Fatalf("network list: %v", got)
	}
	// The instances' two ports (p1 among them); the network's DHCP port,
	// made once a host serves the network, is listed too, as in Neutron.
	var ports []map[string]any
	o.json("demo", &ports, "port", "list", "--network", "net1", "--long")
	var vmPorts []string
	for _, p := range ports {
		if strings.HasPrefix(fmt.Sprint(p["Device Owner"]), "compute:") {
			vmPorts = append(vmPorts, fmt.Sprint(p["Name"]))
		} else if p["Device Owner"] != "network:dhcp" {
			t.Fatalf("port list: unexpected port %v", p)
		}
	}
	if len(vmPorts) != 2 || !slices.Contains(vmPorts, "p1") {
		t.Fatalf("port list: instances' ports %v in %v", vmPorts, ports)
	}
	if out, err := o.try("demo", "network", "delete", "net1"); err == nil || !strings.Contains(out, "409") && !strings.Contains(strings.ToLower(out), "in use") {
		t.Fatalf("network delete while in use: %v %s", err, out)
	}
	o.run("demo", "server", "delete", "--wait", "vm-net", "vm-port")
	o.run("demo", "port", "delete", "p1")
	o.run("demo", "security", "group", "rule", "delete", ruleID)
	o.run("demo", "security", "group", "delete", "web")
	o.run("demo", "subnet", "delete", "sub1")
	o.run("demo", "network", "delete", "net1")
	if got := listNames("network", "list"); !slices.Equal(got, []string{"demo-net", "public"}) {
		t.Fatalf("network list after delete: %v", got)
	}
	if got := listNames("security", "group", "list"); !slices.Equal(got, []string{"default"}) {
		t.Fatalf("security group list after delete: %v", got)
	}

	// Object storage through the catalog's object-store endpoint: the
	// openstack CLI's container and object commands, then swift with
	// Keystone v3 auth instead of a storage URL.
	if want := url + "/object-storage/v1/AUTH_" + tok["project_id"]; services["object-store"] != want {
		t.Fatalf("catalog object-store: %q, want %q", services["object-store"], want)
	}
	notes := bytes.Repeat([]byte("object notes\n"), 5000)
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), notes, 0o644); err != nil {
		t.Fatal(err)
	}
	o.run("demo", "container", "create", "backups")
	o.run("demo", "object", "create", "--name", "notes.txt", "backups", filepath.Join(dir, "notes.txt"))
	var objs []map[string]any
	o.json("demo", &objs, "object", "list", "backups")
	if len(objs) != 1 || objs[0]["Name"] != "notes.txt" {
		t.Fatalf("object list: %v", objs)
	}
	var obj map[string]any
	o.json("demo", &obj, "object", "show", "backups", "notes.txt")
	notesSum := md5.Sum(notes)
	if obj["etag"] != hex.EncodeToString(notesSum[:]) || obj["content-length"] != fmt.Sprint(len(notes)) {
		t.Fatalf("object show: %v", obj)
	}
	o.run("demo", "object", "save", "--file", filepath.Join(dir, "notes.back"), "backups", "notes.txt")
	if back, _ := os.ReadFile(filepath.Join(dir, "notes.back")); !bytes.Equal(back, notes) {
		t.Fatal("object save: not the bytes uploaded")
	}
	if _, err := exec.LookPath("swift"); err == nil {
		sw := exec.Command("swift", "--os-auth-url", url+"/identity/v3", "--auth-version", "3", "--os-username", "demo",
			"--os-password", "demo-secret-1", "--os-project-name", "demo", "--os-user-domain-name", "Default",
			"--os-project-domain-name", "Default", "list", "backups")
		sw.Env = o.env
		if out, err := sw.CombinedOutput(); err != nil || string(out) != "notes.txt\n" {
			t.Fatalf("swift with Keystone auth: %v\n%s", err, out)
		}
	}
	o.run("demo", "object", "delete", "backups", "notes.txt")
	o.run("demo", "container", "delete", "backups")

	// Identity administration as the operator, and the new user at work.
	o.run("admin", "project", "create", "team")
	o.run("admin", "user", "create", "--password", "alice-secret-1", "alice")
	o.run("admin", "role", "add", "--project", "team", "--user", "alice", "member")
	var ras []map[string]any
	o.json("admin", &ras, "role", "assignment", "list", "--project", "team", "--names")
	if len(ras) != 1 || ras[0]["Role"] != "member" || ras[0]["User"] != "alice@Default" || ras[0]["Project"] != "team@Default" {
		t.Fatalf("role assignment list: %v", ras)
	}
	o.json("alice", &list, "server", "list")
	if len(list) != 0 {
		t.Fatalf("alice's server list: %v", list)
	}
	if out, err := o.try("alice", "server", "show", id); err == nil || !strings.Contains(out, "No server with a name or ID") {
		t.Fatalf("another project's server: %v %s", err, out)
	}
	o.run("admin", "quota", "set", "--instances", "3", "--cores", "6", "team")
	var quota map[string]any
	o.json("alice", &quota, "quota", "show")
	if quota["instances"] != float64(3) || quota["cores"] != float64(6) {
		t.Fatalf("quota show: %v", quota)
	}
	var hvs []map[string]any
	o.json("admin", &hvs, "hypervisor", "list")
	if len(hvs) != 1 || hvs[0]["Hypervisor Hostname"] != "dev-1" || hvs[0]["State"] != "up" {
		t.Fatalf("hypervisor list: %v", hvs)
	}
	var svcs []map[string]any
	o.json("admin", &svcs, "compute", "service", "list")
	if len(svcs) != 1 || svcs[0]["Binary"] != "nova-compute" || svcs[0]["Status"] != "enabled" {
		t.Fatalf("compute service list: %v", svcs)
	}
	if out, err := o.try("alice", "hypervisor", "list"); err == nil || !slices.ContainsFunc([]string{"403", "Policy"}, func(s string) bool { return strings.Contains(out, s) }) {
		t.Fatalf("a member's hypervisor list: %v %s", err, out)
	}
}

// waitReady polls /readyz until the server answers.
func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not become ready", url)
}
