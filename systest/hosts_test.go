package systest

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"stratus/models"
)

// The fault drill of issue 7 §2: a host's agent killed -9 during builds,
// never restarted, another host healthy. Once the host is marked down its
// builds are rescheduled to the healthy host (the dead one excluded, in the
// action log as "rescheduled: host h1 down"), the jobs queued for it are
// settled — spawns cancelled, a stop ended with an error the user reads —
// and none waits for ever.
func TestDeadHostBuildsAreRescheduled(t *testing.T) {
	const downTime = 3 * time.Second
	c := startProcCloud(t, procOptions{Scheduler: []string{"--service-down-time", downTime.String()}})
	c.startCompute("h1", "--fake-boot-delay", "8s", "--heartbeat-interval", "500ms", "--compute-workers", "4")
	c.startCompute("h2", "--heartbeat-interval", "500ms")

	// One instance ACTIVE on h1 first, then six builds placed on it: four
	// running, two queued behind them.
	c.setHostEnabled("h2", false)
	active, _ := c.launch("active", 1)
	c.waitAll(active, 30*time.Second, "ACTIVE on h1", func(i procInstance) bool { return i.Status == "ACTIVE" && i.host() == "h1" })
	builds, _ := c.launch("build", 6)
	c.waitAll(builds, 30*time.Second, "placed on h1", func(i procInstance) bool {
		return i.TaskState != nil && *i.TaskState == string(models.TaskSpawning) && i.host() == "h1"
	})
	c.setHostEnabled("h2", true)
	c.kill9("h1")
	killed := time.Now()
	// A stop asked before the host is seen down waits in the queue for h1.
	c.admin.mustStatus(http.StatusAccepted, "POST", "/instances/"+active[0]+"/actions", map[string]any{"action": "stop"}, nil)

	c.waitAll(builds, downTime+time.Minute, "ACTIVE on h2", func(i procInstance) bool { return i.Status == "ACTIVE" && i.host() == "h2" })
	t.Logf("six builds of the killed host ACTIVE on h2 %s after the kill (service-down-time %s)",
		time.Since(killed).Round(100*time.Millisecond), downTime)
	for _, id := range builds {
		found := false
		for _, a := range c.actions(id) {
			found = found || (a.Action == "reschedule" && a.Message == "rescheduled: host h1 down" && a.UserName == "system")
		}
		if !found {
			t.Errorf("instance %s: no \"rescheduled: host h1 down\" in its action log: %+v", id, c.actions(id))
		}
	}
	for _, j := range c.jobs(models.SpawnInstance{}.Kind()) {
		if j.TargetHost == "h1" && j.State != "succeeded" && (j.State != "cancelled" || j.LastError != "rescheduled: host h1 down") {
			t.Errorf("spawn job %d for the dead host: %s %q", j.ID, j.State, j.LastError)
		}
	}

	// The stop waiting for h1 ends with a reason; the instance is still
	// recorded as it was, and can be deleted at once.
	in := c.waitAll(active, 30*time.Second, "stop ended", func(i procInstance) bool { return i.TaskState == nil })[0]
	if in.Status != "ACTIVE" {
		t.Errorf("instance whose stop never reached its host: %s", in.Status)
	}
	if acts := c.actions(active[0]); len(acts) == 0 || acts[0].Action != "stop" || acts[0].Result != models.ActionError ||
		!strings.Contains(acts[0].Message, "host h1 is down") {
		t.Errorf("newest action of the stopped instance: %+v", acts)
	}
	for _, j := range c.jobs(models.PowerInstance{}.Kind()) {
		if j.State == "available" || j.State == "running" {
			t.Errorf("power job %d still %s for %s", j.ID, j.State, j.TargetHost)
		}
	}
	c.admin.mustStatus(http.StatusAccepted, "DELETE", "/instances/"+active[0], nil, nil)
	c.waitAll(active, 10*time.Second, "DELETED", func(i procInstance) bool { return i.Status == "DELETED" })
}

// A host that was only cut off (its agent frozen, then thawed) after its
// build was rescheduled elsewhere must not keep a second copy: its agent
// finds the instance gone from it and destroys what it built.
func TestCutOffHostDestroysItsLateBuild(t *testing.T) {
	const downTime = 3 * time.Second
	c := startProcCloud(t, procOptions{Scheduler: []string{"--service-down-time", downTime.String()}})
	c.startCompute("h1", "--fake-boot-delay", "4s", "--heartbeat-interval", "500ms")
	c.startCompute("h2", "--heartbeat-interval", "500ms")
	c.setHostEnabled("h2", false)
	ids, _ := c.launch("cut-off", 1)
	c.waitAll(ids, 30*time.Second, "building on h1", func(i procInstance) bool {
		return i.TaskState != nil && *i.TaskState == string(models.TaskSpawning) && i.host() == "h1"
	})
	c.setHostEnabled("h2", true)
	c.signal("h1", syscall.SIGSTOP)
	c.waitAll(ids, downTime+time.Minute, "ACTIVE on h2", func(i procInstance) bool { return i.Status == "ACTIVE" && i.host() == "h2" })
	c.signal("h1", syscall.SIGCONT)
	c.waitHost("h1", "up")
	deadline := time.Now().Add(30 * time.Second)
	for !c.logged("h1", "build taken away from this host while it ran; destroying what it built", ids[0]) &&
		!c.logged("h1", "build finished after the instance gave up on this host; destroying the domain", ids[0]) {
		if time.Now().After(deadline) {
			t.Fatalf("the thawed host never destroyed its copy of %s", ids[0])
		}
		time.Sleep(100 * time.Millisecond)
	}
	if in := c.instance(ids[0]); in.Status != "ACTIVE" || in.host() != "h2" {
		t.Fatalf("the instance after h1 came back: %s on %s", in.Status, in.host())
	}
}

// Issue 7 §3: an agent killed -9 during builds and restarted at once takes
// back its host's jobs from its dead predecessor at start — they run again
// without waiting for the predecessor's 30 s leases to expire.
func TestRestartedAgentTakesBackItsJobs(t *testing.T) {
	c := startProcCloud(t, procOptions{})
	c.startCompute("h1", "--fake-boot-delay", "3s", "--compute-workers", "4")
	ids, _ := c.launch("restart", 4)
	c.waitAll(ids, 30*time.Second, "spawning on h1", func(i procInstance) bool {
		return i.TaskState != nil && *i.TaskState == string(models.TaskSpawning) && i.host() == "h1"
	})
	c.waitJobsRunning(ids) // the agent holds their leases
	c.kill9("h1")
	killed := time.Now()
	c.restart("h1")
	c.waitAll(ids, time.Minute, "ACTIVE", func(i procInstance) bool { return i.Status == "ACTIVE" })
	t.Logf("builds of the killed agent ACTIVE %s after the kill and restart (boot delay 3 s)", time.Since(killed).Round(100*time.Millisecond))
	taken := 0
	for _, j := range c.jobs(models.SpawnInstance{}.Kind()) {
		if j.LastError == models.AgentRestartedError && j.Attempt == 2 {
			taken++
		}
		if j.LastError == models.LeaseExpiredError {
			t.Errorf("job %d waited for its lease to expire", j.ID)
		}
	}
	if taken != len(ids) {
		t.Errorf("%d of %d spawn jobs taken back by the restarted agent: %+v", taken, len(ids), c.jobs(models.SpawnInstance{}.Kind()))
	}
	// The predecessor is superseded for good: a second agent for h1 started
	// now takes over, and the one it replaced stops itself.
	c.start("h1-twin", "compute", "--driver", "fake", "--host", "h1", "--reserved-ram-mb", "0", "--heartbeat-interval", "300ms")
	done := make(chan error, 1)
	go func() { done <- c.procs["h1"].Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("the superseded agent exited 0")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the superseded agent kept running beside its successor")
	}
}

// Issue 7 §4: with polling effectively off (an hour), launches through the
// API still reach ACTIVE — each hop (API → scheduler → agent) is woken by a
// hint — with two schedulers and two hosts.
func TestProcessesWakeEachOther(t *testing.T) {
	c := startProcCloud(t, procOptions{Schedulers: 2, Scheduler: []string{"--poll-interval", "1h"}})
	c.startCompute("h1", "--poll-interval", "1h")
	c.startCompute("h2", "--poll-interval", "1h")
	time.Sleep(200 * time.Millisecond) // past the pools' first claim at start
	ids, _ := c.launch("woken", 20)
	c.waitAll(ids, 30*time.Second, "ACTIVE", func(i procInstance) bool { return i.Status == "ACTIVE" })
	hosts := map[string]int{}
	for _, id := range ids {
		hosts[c.instance(id).host()]++
	}
	if len(hosts) != 2 {
		t.Errorf("instances per host: %v, want both hosts used", hosts)
	}
	// A stop is woken through to its host too.
	c.admin.mustStatus(http.StatusAccepted, "POST", "/instances/"+ids[0]+"/actions", map[string]any{"action": "stop"}, nil)
	c.waitAll(ids[:1], 30*time.Second, "SHUTOFF", func(i procInstance) bool { return i.Status == "SHUTOFF" })
}
