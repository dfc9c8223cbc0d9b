package systest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"stratus/models/storetest"
	"stratus/systest/lab"
)

// cloud is a running Stratus on a lab: the three processes, an admin, a
// tenant and the guest images uploaded through the API.
type cloud struct {
	t       testing.TB
	lab     *lab.Lab
	dir     string
	bin     string
	db      string
	url     string
	procs   map[string]*exec.Cmd
	logs    map[string]string
	admin   *client // admin of the admin project (operator)
	tenant  *client // member of the "lab" project
	other   *client // another member of the "lab" project
	imageID string  // the three-part guest's disk image
	flavor  string

	computeMetrics string // the agent's /metrics address
	serviceToken   string // the compute service account's API token (image downloads)
}

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildOnce.bin != "" {
		_ = os.RemoveAll(filepath.Dir(buildOnce.bin))
	}
	os.Exit(code)
}

var buildOnce struct {
	sync.Once
	bin string
	err error
}

// stratusBinary builds the binary once per test process (or uses
// STRATUS_BIN, as `make` passes the one it built).
func stratusBinary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("STRATUS_BIN"); b != "" {
		return b
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "stratus-systest-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.bin = filepath.Join(dir, "stratus")
		cmd := exec.Command("go", "build", "-o", buildOnce.bin, "./cmd/stratus")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.bin
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startCloud starts a lab and Stratus on it, and prepares a tenant with a
// key pair, a small flavor and the guest's three-part images. poll is how
// often the scheduler and the agent look for jobs (the processes do not
// share the in-process wake-up).
func startCloud(t testing.TB, poll time.Duration) *cloud {
	t.Helper()
	return startCloudOn(t, poll, nil, lab.Start(t))
}

// startCloudOn starts Stratus with one compute host per lab (hv1, hv2 …,
// processes compute, compute2 …; each with the lab's migration address
// when it has one); schedulerArgs are extra flags of the scheduler.
func startCloudOn(t testing.TB, poll time.Duration, schedulerArgs []string, labs ...*lab.Lab) *cloud {
	t.Helper()
	l := labs[0]
	bin := stratusBinary(t)
	dir := t.TempDir()
	engine := storetest.SQLite
	if os.Getenv(storetest.EnvMySQL) != "" {
		engine = storetest.MySQL // three processes share it: the deployment's way
	}
	c := &cloud{t: t, lab: l, dir: dir, bin: bin, db: storetest.DSN(t, engine), procs: map[string]*exec.Cmd{}, logs: map[string]string{}}
	t.Cleanup(c.stop)
	port := freePort(t)
	c.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	c.computeMetrics = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c.run("migrate", "--db", c.db, "--data-dir", dir)
	common := []string{"--db", c.db, "--data-dir", dir, "--log-format", "json"}
	c.run("bootstrap", append(common, "--admin-password", "admin-secret-1", "--bcrypt-cost", "4")...)
	c.start("serve", append(common, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--image-dir", filepath.Join(dir, "images"), "--bcrypt-cost", "4")...)
	c.start("scheduler", append(append(common, "--poll-interval", poll.String()), schedulerArgs...)...)
	c.waitHTTP()

	c.admin = login(t, c.url, "admin", "admin-secret-1", "admin")
	// The compute host's service account: a system reader, whose API token
	// downloads images.
	c.admin.must("POST", "/users", map[string]any{"name": "compute-hv1", "password": "compute-secret-1"}, nil)
	c.admin.must("POST", "/role-assignments", map[string]any{"user": "compute-hv1", "system": true, "role": "reader"}, nil)
	svc := login(t, c.url, "compute-hv1", "compute-secret-1", "")
	var tok struct{ Secret string }
	svc.must("POST", "/tokens", map[string]any{"name": "image downloads"}, &tok)
	c.serviceToken = tok.Secret

	for i, l := range labs {
		name, host, metrics := "compute", "hv1", c.computeMetrics
		if i > 0 {
			name, host, metrics = fmt.Sprintf("compute%d", i+1), fmt.Sprintf("hv%d", i+1), fmt.Sprintf("127.0.0.1:%d", freePort(t))
		}
		// The agents run in the machine's own network namespace: the
		// fake network driver keeps them off the machine's bridges and
		// iptables (the guests boot without NICs). TestNetworksOnLibvirt
		// runs agents with the linux driver inside namespaces of its own.
		args := append(common, "--driver", "libvirt", "--network-driver", "fake", "--host", host, "--libvirt-uri", l.URI, "--virt-type", "qemu",
			"--host-address", l.GuestAddr, "--instances-dir", filepath.Join(l.Dir, "instances"),
			"--image-cache-dir", filepath.Join(l.Dir, "image-cache"), "--api-url", c.url, "--api-token", tok.Secret,
			"--shutdown-timeout", "3s", "--poll-interval", poll.String(), "--heartbeat-interval", "2s", "--reserved-ram-mb", "0",
			"--metrics-listen", metrics)
		if l.MigrationAddr != "" {
			args = append(args, "--migration-address", l.MigrationAddr)
		}
		c.start(name, args...)
		c.waitHost(host)
	}

	// The tenant: a project with two members.
	c.admin.must("POST", "/projects", map[string]any{"name": "lab"}, nil)
	for _, u := range []string{"alice", "bob"} {
		c.admin.must("POST", "/users", map[string]any{"name": u, "password": u + "-secret-1"}, nil)
		c.admin.must("POST", "/role-assignments", map[string]any{"user": u, "project": "lab", "role": "member"}, nil)
	}
	c.tenant = login(t, c.url, "alice", "alice-secret-1", "lab")
	c.other = login(t, c.url, "bob", "bob-secret-1", "lab")
	c.flavor = "m1.lab"
	c.admin.must("POST", "/flavors", map[string]any{"name": c.flavor, "vcpus": 1, "ram_mb": 192, "disk_gb": 1, "ephemeral_gb": 0}, nil)

	g := lab.BuildGuest(t, filepath.Join(dir, "guest"))
	kernel := c.tenant.uploadImage("lab-kernel", "aki", g.Kernel, nil)
	ramdisk := c.tenant.uploadImage("lab-ramdisk", "ari", g.Ramdisk, nil)
	c.imageID = c.tenant.uploadImage("lab-guest", "raw", g.Disk, map[string]string{"kernel_id": kernel, "ramdisk_id": ramdisk})
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	c.tenant.must("POST", "/keypairs", map[string]any{"name": "labkey", "public_key": strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))}, nil)
	return c
}

// run runs a short stratus command to completion.
func (c *cloud) run(cmd string, args ...string) {
	c.t.Helper()
	out, err := exec.Command(c.bin, append([]string{cmd}, args...)...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("stratus %s: %v\n%s", cmd, err, out)
	}
}

// start starts a long-running stratus process, logging to a file; a
// second process of a command is named with a number (compute2).
func (c *cloud) start(name string, args ...string) {
	c.t.Helper()
	logPath := filepath.Join(c.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, append([]string{strings.TrimRight(name, "0123456789")}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	f.Close()
	c.procs[name], c.logs[name] = cmd, logPath
}

func (c *cloud) stop() {
	for _, name := range []string{"volume", "compute", "compute2", "scheduler", "serve"} {
		cmd := c.procs[name]
		if cmd == nil || cmd.Process == nil {
			continue
		}
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	if c.t.Failed() {
		for _, name := range []string{"volume", "compute", "compute2", "scheduler", "serve"} {
			if c.logs[name] == "" {
				continue
			}
			c.t.Logf("--- %s log (tail):\n%s", name, tail(c.logs[name], 15))
		}
	}
}

func (c *cloud) waitHTTP() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(c.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("stratus serve did not answer:\n%s", tail(c.logs["serve"], 20))
}

func (c *cloud) waitHost(name string) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var h struct {
			State   string `json:"state"`
			Enabled bool   `json:"enabled"`
		}
		if st, _ := c.admin.do("GET", "/hosts/"+name, nil, &h); st == http.StatusOK && h.State == "up" && h.Enabled {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("host %s never registered:\n%s", name, tail(c.logs["compute"], 30))
}

// launch starts one instance and returns its ID.
func (c *cloud) launch(name, userData string) string {
	c.t.Helper()
	return c.launchFrom(name, c.imageID, userData)
}

// launchFrom starts one instance of an image and returns its ID.
func (c *cloud) launchFrom(name, image, userData string) string {
	c.t.Helper()
	var out struct {
		Instances []instance `json:"instances"`
	}
	c.tenant.mustStatus(http.StatusAccepted, "POST", "/instances", map[string]any{"name": name, "flavor": c.flavor, "image": image,
		"keypair": "labkey", "user_data": userData}, &out)
	if len(out.Instances) != 1 {
		c.t.Fatalf("launch answered %+v", out)
	}
	return out.Instances[0].ID
}

type instance struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	PowerState string `json:"power_state"`
	TaskState  *string
	Fault      *struct {
		Message string `json:"message"`
	} `json:"fault"`
}

func (c *cloud) get(id string) instance {
	c.t.Helper()
	var in instance
	c.tenant.must("GET", "/instances/"+id, nil, &in)
	return in
}

// waitStatus polls an instance until it has status (and no task), failing
// early on ERROR.
func (c *cloud) waitStatus(id, status string, within time.Duration) instance {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var in instance
	for time.Now().Before(deadline) {
		in = c.get(id)
		if in.Status == status && in.TaskState == nil {
			return in
		}
		if in.Status == "ERROR" && status != "ERROR" {
			msg := ""
			if in.Fault != nil {
				msg = in.Fault.Message
			}
			c.t.Fatalf("instance %s went to ERROR: %s\n%s", id, msg, tail(c.logs["compute"], 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("instance %s is %s (task %v), not %s, after %s\n%s", id, in.Status, in.TaskState, status, within, tail(c.logs["compute"], 30))
	return in
}

// consoleLog reads the console-log API.
func (c *cloud) consoleLog(id string, lines int) string {
	c.t.Helper()
	var out struct {
		Output string `json:"output"`
	}
	c.tenant.must("GET", "/instances/"+id+"/console-log?lines="+strconv.Itoa(lines), nil, &out)
	return out.Output
}

// waitConsole polls the console-log API until it shows every marker.
func (c *cloud) waitConsole(id string, within time.Duration, markers ...string) string {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var out string
	for time.Now().Before(deadline) {
		out = c.consoleLog(id, 0)
		if lab.ConsoleHas(out, markers...) {
			return out
		}
		time.Sleep(500 * time.Millisecond)
	}
	c.t.Fatalf("console of %s never showed %q within %s: %s", id, markers, within, lab.Describe(out))
	return ""
}

// computeLogs returns the compute agent's JSON log records with msg.
func (c *cloud) computeLogs(msg string) []map[string]any {
	f, err := os.Open(c.logs["compute"])
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// client is an API client with a bearer token.
type client struct {
	t     testing.TB
	url   string
	token string
}

func login(t testing.TB, url, user, password, project string) *client {
	t.Helper()
	c := &client{t: t, url: url}
	var out struct {
		Token string `json:"token"`
	}
	c.must("POST", "/auth/tokens", map[string]any{"username": user, "password": password, "project": project}, &out)
	c.token = out.Token
	return c
}

func (c *client) do(method, path string, body, out any) (int, string) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.url+"/api/v1"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, string(b)
}

func (c *client) must(method, path string, body, out any) {
	c.t.Helper()
	if st, b := c.do(method, path, body, out); st >= 300 {
		c.t.Fatalf("%s %s: %d %s", method, path, st, b)
	}
}

func (c *client) mustStatus(want int, method, path string, body, out any) {
	c.t.Helper()
	if st, b := c.do(method, path, body, out); st != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, st, b, want)
	}
}

// uploadImage creates an image and streams its file; it returns the ID.
func (c *client) uploadImage(name, format, path string, props map[string]string) string {
	c.t.Helper()
	var im struct {
		ID string `json:"id"`
	}
	c.must("POST", "/images", map[string]any{"name": name, "disk_format": format, "properties": props}, &im)
	f, err := os.Open(path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	req, err := http.NewRequestWithContext(context.Background(), "PUT", c.url+"/api/v1/images/"+im.ID+"/file", f)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		c.t.Fatalf("upload %s: %d %s", name, resp.StatusCode, b)
	}
	return im.ID
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
