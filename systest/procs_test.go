package systest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"stratus/models/storetest"
)

// procCloud is Stratus in its production shape on one machine: `stratus
// serve`, `stratus scheduler` and one `stratus compute --driver fake` per
// host, separate processes sharing one database (MariaDB when
// STRATUS_TEST_MYSQL_DSN is set, else a SQLite file), driven through the
// API by the admin. The fake driver keeps each host's domains in its
// process, so these tests need no lab and run anywhere.
type procCloud struct {
	t      testing.TB
	bin    string
	dir    string
	db     string
	url    string
	common []string
	mu     sync.Mutex
	procs  map[string]*exec.Cmd
	logs   map[string]string
	args   map[string][]string // each process's command line, to restart it
	admin  *client
	image  string
}

// procOptions shape a procCloud.
type procOptions struct {
	Engine     storetest.Engine
	Schedulers int      // scheduler processes (default 1)
	Scheduler  []string // extra flags of every scheduler
}

func startProcCloud(t testing.TB, o procOptions) *procCloud {
	t.Helper()
	if o.Engine == "" {
		o.Engine = storetest.SQLite
		if os.Getenv(storetest.EnvMySQL) != "" {
			o.Engine = storetest.MySQL
		}
	}
	if o.Schedulers == 0 {
		o.Schedulers = 1
	}
	dir := t.TempDir()
	c := &procCloud{t: t, bin: stratusBinary(t), dir: dir, db: storetest.DSN(t, o.Engine),
		procs: map[string]*exec.Cmd{}, logs: map[string]string{}, args: map[string][]string{}}
	t.Cleanup(c.stopAll)
	port := freePort(t)
	c.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	c.common = []string{"--db", c.db, "--data-dir", dir, "--log-format", "json"}
	c.runOnce("migrate")
	c.runOnce("bootstrap", "--admin-password", "admin-secret-1", "--bcrypt-cost", "4")
	c.start("serve", "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--bcrypt-cost", "4")
	for i := 1; i <= o.Schedulers; i++ {
		c.start(fmt.Sprintf("scheduler-%d", i), "scheduler", o.Scheduler...)
	}
	c.waitHTTP()
	c.admin = login(t, c.url, "admin", "admin-secret-1", "admin")
	c.admin.must("PUT", "/quotas/admin", map[string]any{"instances": -1, "vcpus": -1, "ram_mb": -1}, nil)
	var im struct {
		ID string `json:"id"`
	}
	c.admin.must("POST", "/images", map[string]any{"name": "cirros", "disk_format": "raw"}, &im)
	req, _ := http.NewRequest("PUT", c.url+"/api/v1/images/"+im.ID+"/file", strings.NewReader("raw disk bytes"))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+c.admin.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode >= 300 {
		t.Fatalf("upload image: %v %v", err, resp)
	}
	resp.Body.Close()
	c.image = im.ID
	return c
}

// startCompute starts the agent of host name with the fake driver.
func (c *procCloud) startCompute(name string, extra ...string) {
	c.t.Helper()
	args := append([]string{"--driver", "fake", "--host", name, "--reserved-ram-mb", "0"}, extra...)
	c.start(name, "compute", args...)
	c.waitHost(name, "up")
}

func (c *procCloud) runOnce(cmd string, args ...string) {
	c.t.Helper()
	out, err := exec.Command(c.bin, append([]string{cmd, "--db", c.db, "--data-dir", c.dir}, args...)...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("stratus %s: %v\n%s", cmd, err, out)
	}
}

// start starts process name (`stratus cmd common… args…`), logging to a
// file that a restart appends to.
func (c *procCloud) start(name, cmd string, args ...string) {
	c.t.Helper()
	full := append(append([]string{cmd}, c.common...), args...)
	logPath := filepath.Join(c.dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	p := exec.Command(c.bin, full...)
	p.Stdout, p.Stderr = f, f
	if err := p.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.procs[name], c.logs[name], c.args[name] = p, logPath, full
	c.mu.Unlock()
}

// restart starts a stopped or killed process again with its command line.
func (c *procCloud) restart(name string) {
	c.t.Helper()
	args := c.args[name]
	c.start(name, args[0], args[1+len(c.common):]...)
}

// kill9 kills a process without letting it clean up, and reaps it.
func (c *procCloud) kill9(name string) {
	c.t.Helper()
	p := c.procs[name]
	_ = p.Process.Kill()
	_ = p.Wait()
}

func (c *procCloud) signal(name string, sig syscall.Signal) {
	_ = c.procs[name].Process.Signal(sig)
}

func (c *procCloud) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	for n := range c.procs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] > names[j] }) // serve last
	for _, n := range names {
		p := c.procs[n]
		if p.ProcessState != nil { // already reaped
			continue
		}
		_ = p.Process.Signal(syscall.SIGCONT)
		_ = p.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
	if c.t.Failed() {
		for _, n := range names {
			c.t.Logf("--- %s log (tail):\n%s", n, tail(c.logs[n], 15))
		}
	}
}

func (c *procCloud) waitHTTP() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(c.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("stratus serve did not answer:\n%s", tail(c.logs["serve"], 20))
}

// waitHost waits until a host's state is up or down.
func (c *procCloud) waitHost(name, state string) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var h struct {
			State string `json:"state"`
		}
		if st, _ := c.admin.do("GET", "/hosts/"+name, nil, &h); st == http.StatusOK && h.State == state {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("host %s never %s:\n%s", name, state, tail(c.logs[name], 20))
}

func (c *procCloud) setHostEnabled(name string, on bool) {
	c.t.Helper()
	body := map[string]any{"enabled": on}
	if !on {
		body["disabled_reason"] = "kept out of this test's first placements"
	}
	c.admin.must("PATCH", "/hosts/"+name, body, nil)
}

// procInstance is what the tests read of an instance.
type procInstance struct {
	ID         string     `json:"id"`
	Status     string     `json:"status"`
	TaskState  *string    `json:"task_state"`
	PowerState string     `json:"power_state"`
	Host       *string    `json:"host"`
	LaunchedAt *time.Time `json:"launched_at"`
	Fault      *struct {
		Message string `json:"message"`
	} `json:"fault"`
}

func (i procInstance) host() string {
	if i.Host == nil {
		return ""
	}
	return *i.Host
}

func (c *procCloud) instance(id string) procInstance {
	c.t.Helper()
	var in procInstance
	c.admin.must("GET", "/instances/"+id, nil, &in)
	return in
}

// launch starts n instances at once, each its own API call, and returns
// their IDs and when each call was sent.
func (c *procCloud) launch(prefix string, n int) ([]string, []time.Time) {
	c.t.Helper()
	ids, sent := make([]string, n), make([]time.Time, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out struct {
				Instances []procInstance `json:"instances"`
			}
			sent[i] = time.Now()
			if st, body := c.admin.do("POST", "/instances", map[string]any{"name": fmt.Sprintf("%s-%d", prefix, i),
				"flavor": "m1.nano", "image": c.image}, &out); st != http.StatusAccepted || len(out.Instances) != 1 {
				c.t.Errorf("launch: %d %s", st, body)
				return
			}
			ids[i] = out.Instances[0].ID
		}()
	}
	wg.Wait()
	if c.t.Failed() {
		c.t.FailNow()
	}
	return ids, sent
}

// waitAll polls the instances until every one satisfies ok, failing after
// within with the last states seen.
func (c *procCloud) waitAll(ids []string, within time.Duration, what string, ok func(procInstance) bool) []procInstance {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		all := make([]procInstance, len(ids))
		done := true
		for i, id := range ids {
			all[i] = c.instance(id)
			done = done && ok(all[i])
		}
		if done {
			return all
		}
		if time.Now().After(deadline) {
			var states []string
			for _, in := range all {
				st := in.Status + " on " + in.host()
				if in.Fault != nil {
					st += " (" + in.Fault.Message + ")"
				}
				states = append(states, st)
			}
			c.t.Fatalf("after %s, not all %s: %s", within, what, strings.Join(states, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// actions is an instance's action log, newest first.
func (c *procCloud) actions(id string) []struct{ Action, Message, Result, UserName string } {
	c.t.Helper()
	var out struct {
		Actions []struct {
			Action   string `json:"action"`
			Message  string `json:"message"`
			Result   string `json:"result"`
			UserName string `json:"user_name"`
		} `json:"actions"`
	}
	c.admin.must("GET", "/instances/"+id+"/actions", nil, &out)
	res := make([]struct{ Action, Message, Result, UserName string }, len(out.Actions))
	for i, a := range out.Actions {
		res[i] = struct{ Action, Message, Result, UserName string }{a.Action, a.Message, a.Result, a.UserName}
	}
	return res
}

// procJob is what the tests read of a job.
type procJob struct {
	ID         int64  `json:"id"`
	Kind       string `json:"kind"`
	TargetHost string `json:"target_host"`
	State      string `json:"state"`
	Attempt    int    `json:"attempt"`
	LastError  string `json:"last_error"`
	ResourceID string `json:"resource_id"`
}

// jobs lists the jobs of a kind (the newest 1000).
func (c *procCloud) jobs(kind string) []procJob {
	c.t.Helper()
	var out struct {
		Jobs []procJob `json:"jobs"`
	}
	c.admin.must("GET", "/jobs?limit=1000&kind="+kind, nil, &out)
	return out.Jobs
}

// logged reports whether a process's JSON log has a record with msg about
// the instance id.
func (c *procCloud) logged(name, msg, id string) bool {
	f, err := os.Open(c.logs[name])
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg && rec["instance"] == id {
			return true
		}
	}
	return false
}
