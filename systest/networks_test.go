package systest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"stratus/models/storetest"
	"stratus/systest/lab"
)

// netCloud is Stratus with two compute hosts, each a lab (its own
// libvirtd in its own namespaces) whose network namespace is the host's:
// the agents run there with the linux network driver, and the hosts'
// VXLAN tunnels cross an underlay bridge in a namespace of the test's own.
type netCloud struct {
	*cloud
	labs    []*lab.Lab
	hosts   []string
	under   string // the underlay namespace
	netDirs []string
	ext     map[int]string // --external-interface of host i (a bridge the test makes in its namespace)
}

// startNetCloud starts serve and scheduler in the test's namespace and a
// `stratus compute --driver libvirt --network-driver linux` in each lab's.
// The agents share the SQLite file and the image store with serve.
func startNetCloud(t testing.TB) *netCloud {
	t.Helper()
	return startNetCloudWith(t, nil)
}

// startNetCloudWith is startNetCloud with an external bridge ext[i] in
// host i's namespace, registered as its --external-interface.
func startNetCloudWith(t testing.TB, ext map[int]string) *netCloud {
	t.Helper()
	return startNetCloudOn(t, lab.StartMany(t, 2), ext)
}

// startNetCloudOn is startNetCloudWith on two labs of the caller's (a
// lab.StartPair: the agents get --migration-address).
func startNetCloudOn(t testing.TB, labs []*lab.Lab, ext map[int]string) *netCloud {
	t.Helper()
	bin := stratusBinary(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // qemu reaches the image store's files through it
		t.Fatal(err)
	}
	c := &cloud{t: t, lab: labs[0], dir: dir, bin: bin, db: storetest.DSN(t, storetest.SQLite), procs: map[string]*exec.Cmd{}, logs: map[string]string{}}
	nc := &netCloud{cloud: c, labs: labs, hosts: []string{"hv1", "hv2"}, under: fmt.Sprintf("stn-ul-%d", time.Now().UnixNano()%100000), ext: ext}
	t.Cleanup(c.stop)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", nc.under).Run() })
	// The underlay: a bridge in a namespace of its own, and a leg into
	// each host's namespace (192.0.2.1, .2).
	sh(t, fmt.Sprintf("ip netns add %[1]s; ip -n %[1]s link add ul type bridge; ip -n %[1]s link set ul up", nc.under))
	for i, l := range labs {
		sh(t, fmt.Sprintf(`ip -n %[1]s link add ul%[3]d type veth peer name underlay netns %[2]s
ip -n %[1]s link set ul%[3]d master ul up
ip -n %[2]s addr add 192.0.2.%[3]d/24 dev underlay
ip -n %[2]s link set underlay up`, nc.under, l.NetNS, i+1))
		if br := ext[i]; br != "" {
			sh(t, fmt.Sprintf("ip -n %[1]s link add %[2]s type bridge; ip -n %[1]s link set %[2]s up", l.NetNS, br))
		}
	}
	port := freePort(t)
	c.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	c.run("migrate", "--db", c.db, "--data-dir", dir)
	common := []string{"--db", c.db, "--data-dir", dir, "--log-format", "json"}
	c.run("bootstrap", append(common, "--admin-password", "admin-secret-1", "--bcrypt-cost", "4")...)
	c.start("serve", append(common, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--image-dir", filepath.Join(dir, "images"), "--bcrypt-cost", "4")...)
	c.start("scheduler", append(common, "--poll-interval", "200ms", "--wake-listen", "off")...)
	c.waitHTTP()
	c.admin = login(t, c.url, "admin", "admin-secret-1", "admin")
	for i := range labs {
		nc.netDirs = append(nc.netDirs, filepath.Join(dir, "network-"+nc.hosts[i]))
		nc.startAgent(i)
		c.waitHost(nc.hosts[i])
	}
	t.Cleanup(func() {
		for _, h := range nc.hosts {
			nc.stopAgent(h)
		}
		// A test that failed before deleting its networks leaves their
		// DHCP servers: stop them (by the PIDs in their own files) and
		// release their namespaces.
		for _, d := range nc.netDirs {
			pids, _ := filepath.Glob(filepath.Join(d, "dhcp", "*", "pid"))
			for _, p := range pids {
				if b, err := os.ReadFile(p); err == nil {
					pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
					cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
					if err == nil && pid > 0 && strings.Contains(string(cmdline), d) { // still that dnsmasq
						_ = syscall.Kill(pid, syscall.SIGTERM)
					}
				}
				_ = syscall.Unmount(filepath.Join(filepath.Dir(p), "ns"), syscall.MNT_DETACH)
			}
			routers, _ := filepath.Glob(filepath.Join(d, "routers", "qrouter-*"))
			for _, r := range routers {
				_ = syscall.Unmount(r, syscall.MNT_DETACH)
			}
		}
	})
	c.flavor = "m1.lab"
	c.admin.must("POST", "/flavors", map[string]any{"name": c.flavor, "vcpus": 1, "ram_mb": 192, "disk_gb": 1, "ephemeral_gb": 0}, nil)
	return nc
}

// startAgent starts host i's agent inside its lab's network namespace.
func (nc *netCloud) startAgent(i int) {
	l, host := nc.labs[i], nc.hosts[i]
	// nsenter, not ip netns exec: the agent stays in the machine's mount
	// namespace, as on a real host, so that the namespaces it binds for
	// DHCP servers and routers outlive it (and the test can enter them).
	zone := "az" + host[2:]
	if l.MigrationAddr != "" {
		zone = "nova" // a pair for moves: an instance moves only within its zone
	}
	args := []string{"--net=/run/netns/" + l.NetNS, "--", nc.bin, "compute", "--db", nc.db, "--data-dir", nc.dir, "--log-format", "json",
		"--driver", "libvirt", "--host", host, "--availability-zone", zone, "--libvirt-uri", l.URI, "--virt-type", "qemu",
		"--host-address", l.GuestAddr, "--instances-dir", filepath.Join(l.Dir, "instances"), "--image-cache-dir", filepath.Join(l.Dir, "image-cache"),
		"--image-dir", filepath.Join(nc.dir, "images"), "--network-driver", "linux", "--tunnel-address", fmt.Sprintf("192.0.2.%d", i+1),
		"--network-state-dir", nc.netDirs[i], "--network-sync-interval", "1s", "--shutdown-timeout", "3s", "--poll-interval", "200ms",
		"--wake-listen", "off", "--heartbeat-interval", "2s", "--reserved-ram-mb", "0"}
	if br := nc.ext[i]; br != "" {
		args = append(args, "--external-interface", br)
	}
	if l.MigrationAddr != "" {
		args = append(args, "--migration-address", l.MigrationAddr)
	}
	logPath := filepath.Join(nc.dir, "compute-"+host+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		nc.t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("nsenter", args...) // nsenter execs the agent: same PID
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		nc.t.Fatal(err)
	}
	nc.procs["compute-"+host], nc.logs["compute"] = cmd, logPath
}

// stopAgent stops a host's agent (SIGINT) and waits for it.
func (nc *netCloud) stopAgent(host string) {
	cmd := nc.procs["compute-"+host]
	if cmd == nil || cmd.Process == nil || cmd.ProcessState != nil {
		return
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
	if nc.t.Failed() {
		nc.t.Logf("--- compute %s log (tail):\n%s", host, tail(filepath.Join(nc.dir, "compute-"+host+".log"), 20))
	}
}

func sh(t testing.TB, script string) string {
	t.Helper()
	out, err := exec.Command("sh", "-ec", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

// inHost runs a command in host i's network namespace.
func (nc *netCloud) inHost(i int, script string) string {
	out, _ := exec.Command("ip", "netns", "exec", nc.labs[i].NetNS, "sh", "-c", script).CombinedOutput()
	return string(out)
}

// rules is the filter table's Stratus rules of host i, without counters.
func (nc *netCloud) rules(i int) string {
	var keep []string
	for _, l := range strings.Split(nc.inHost(i, "iptables-save -t filter"), "\n") {
		if strings.Contains(l, "stratus") {
			keep = append(keep, regexp.MustCompile(`\[\d+:\d+\]`).ReplaceAllString(l, ""))
		}
	}
	return strings.Join(keep, "\n")
}

// tenantOf makes a project with a member and uploads the guest's images.
func (nc *netCloud) tenantOf(project, user string) (*client, string) {
	t := nc.t
	nc.admin.must("POST", "/projects", map[string]any{"name": project}, nil)
	nc.admin.must("POST", "/users", map[string]any{"name": user, "password": user + "-secret-1"}, nil)
	nc.admin.must("POST", "/role-assignments", map[string]any{"user": user, "project": project, "role": "member"}, nil)
	cl := login(t, nc.url, user, user+"-secret-1", project)
	g := lab.BuildGuest(t, filepath.Join(nc.dir, "guest-"+project))
	kernel := cl.uploadImage("lab-kernel", "aki", g.Kernel, nil)
	ramdisk := cl.uploadImage("lab-ramdisk", "ari", g.Ramdisk, nil)
	return cl, cl.uploadImage("lab-guest", "raw", g.Disk, map[string]string{"kernel_id": kernel, "ramdisk_id": ramdisk})
}

// launchOn starts one instance in an availability zone (one host each),
// on a network with a fixed IP, in security groups.
func (nc *netCloud) launchOn(cl *client, image, name, az, network, ip string, groups []string, userData string) string {
	var out struct {
		Instances []instance `json:"instances"`
	}
	body := map[string]any{"name": name, "flavor": nc.flavor, "image": image,
		"availability_zone": az, "user_data": userData, "networks": []map[string]string{{"network": network, "fixed_ip": ip}}}
	if groups != nil {
		body["security_groups"] = groups
	}
	cl.mustStatus(http.StatusAccepted, "POST", "/instances", body, &out)
	return out.Instances[0].ID
}

// reach waits until the newest STRATUS-REACH line of the guest's console
// contains every want, and says how long that took.
func (nc *netCloud) reach(cl *client, id string, within time.Duration, want ...string) time.Duration {
	nc.t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < within {
		var out struct {
			Output string `json:"output"`
		}
		cl.must("GET", "/instances/"+id+"/console-log", nil, &out)
		for _, l := range strings.Split(out.Output, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), lab.MarkerReach) {
				last = strings.TrimSpace(l)
			}
		}
		ok := last != ""
		for _, w := range want {
			ok = ok && strings.Contains(last+" ", " "+w+" ")
		}
		if ok {
			return time.Since(start)
		}
		time.Sleep(500 * time.Millisecond)
	}
	nc.t.Fatalf("instance %s never reported %v within %s; last: %q", id, want, within, last)
	return 0
}

func (nc *netCloud) waitStatusOf(cl *client, id, status string, within time.Duration) {
	nc.t.Helper()
	saved := nc.tenant
	nc.tenant = cl
	defer func() { nc.tenant = saved }()
	nc.waitStatus(id, status, within)
}

func (nc *netCloud) waitConsoleOf(cl *client, id string, within time.Duration, markers ...string) string {
	nc.t.Helper()
	saved := nc.tenant
	nc.tenant = cl
	defer func() { nc.tenant = saved }()
	return nc.waitConsole(id, within, markers...)
}

// TestNetworksOnLibvirt: tenant networks on two compute hosts with real
// guests, through the API — addresses by DHCP from each host's dnsmasq,
// two guests on different hosts reaching each other over VXLAN, another
// project's network with the same CIDR isolated, a security-group rule
// opening tcp/8080 and its deletion closing it again within seconds, a
// spoofed source address dropped, an agent restart rewriting exactly the
// same rules, and nothing left on the hosts when everything is deleted.
func TestNetworksOnLibvirt(t *testing.T) {
	nc := startNetCloud(t)
	alice, aliceImage := nc.tenantOf("lab", "alice")
	carol, carolImage := nc.tenantOf("lab2", "carol")
	var n1, n2 struct {
		ID string `json:"id"`
	}
	alice.must("POST", "/networks", map[string]any{"name": "net1"}, &n1)
	alice.must("POST", "/subnets", map[string]any{"network_id": n1.ID, "cidr": "10.30.0.0/24"}, nil)
	carol.must("POST", "/networks", map[string]any{"name": "net2"}, &n2)
	carol.must("POST", "/subnets", map[string]any{"network_id": n2.ID, "cidr": "10.30.0.0/24"}, nil)
	var web struct {
		ID string `json:"id"`
	}
	alice.must("POST", "/security-groups", map[string]any{"name": "web"}, &web)
	alice.must("POST", "/security-group-rules", map[string]any{"security_group_id": web.ID, "direction": "ingress", "protocol": "icmp"}, nil)

	// a (hv1, default group) pings and connects to b (hv2, group web:
	// icmp only) and to c, carol's guest at another address of the same
	// CIDR; it also pings b from an address it was not given.
	a := nc.launchOn(alice, aliceImage, "a", "az1", "net1", "10.30.0.11", []string{"default"},
		"#!/bin/sh\n# STRATUS-PING-10.30.0.12 STRATUS-TCP-10.30.0.12-8080 STRATUS-PING-10.30.0.13 STRATUS-TCP-10.30.0.13-8080 STRATUS-SPOOF-10.30.0.99\n")
	b := nc.launchOn(alice, aliceImage, "b", "az2", "net1", "10.30.0.12", []string{"web"}, "#!/bin/sh\n# STRATUS-LISTEN-8080\n")
	nc.waitStatusOf(alice, a, "ACTIVE", 120*time.Second)
	nc.waitStatusOf(alice, b, "ACTIVE", 120*time.Second)

	t.Run("each guest takes its address and MTU by DHCP from its host", func(t *testing.T) {
		nc.waitConsoleOf(alice, a, 150*time.Second, lab.MarkerNet+" eth0 10.30.0.11/24 mtu=1450")
		nc.waitConsoleOf(alice, b, 150*time.Second, lab.MarkerNet+" eth0 10.30.0.12/24 mtu=1450")
		var ports struct {
			Ports []struct {
				Status   string `json:"status"`
				DeviceID string `json:"device_id"`
			} `json:"ports"`
		}
		alice.must("GET", "/ports?network_id="+n1.ID, nil, &ports)
		active := 0
		for _, p := range ports.Ports {
			if (p.DeviceID == a || p.DeviceID == b) && p.Status == "ACTIVE" {
				active++
			}
		}
		if active != 2 {
			t.Errorf("ports %+v: want both instances' ACTIVE", ports.Ports)
		}
		for i := range nc.labs {
			if links := nc.inHost(i, "ip -o link show"); !strings.Contains(links, "vxlan-") || !strings.Contains(links, "brq"+n1.ID[:11]) {
				t.Errorf("host %d has no bridge and tunnel for net1:\n%s", i+1, links)
			}
		}
	})

	t.Run("a reaches b on the other host over VXLAN; tcp/8080 is closed; a spoofed source is dropped", func(t *testing.T) {
		nc.reach(alice, a, 90*time.Second, "ping:10.30.0.12:ok", "tcp:10.30.0.12:8080:closed", "spoof:10.30.0.99:no")
	})

	t.Run("a rule opens tcp/8080 within seconds, and its deletion closes it again", func(t *testing.T) {
		var rule struct {
			ID string `json:"id"`
		}
		alice.must("POST", "/security-group-rules", map[string]any{"security_group_id": web.ID, "direction": "ingress", "protocol": "tcp",
			"port_range_min": 8080, "port_range_max": 8080, "remote_ip_prefix": "10.30.0.0/24"}, &rule)
		took := nc.reach(alice, a, 30*time.Second, "tcp:10.30.0.12:8080:open")
		t.Logf("tcp/8080 open %s after the rule was created (the console log ships every 2 s)", took.Round(100*time.Millisecond))
		alice.mustStatus(http.StatusNoContent, "DELETE", "/security-group-rules/"+rule.ID, nil, nil)
		took = nc.reach(alice, a, 30*time.Second, "tcp:10.30.0.12:8080:closed", "ping:10.30.0.12:ok")
		t.Logf("tcp/8080 closed %s after the rule was deleted", took.Round(100*time.Millisecond))
	})

	t.Run("another project's network with the same CIDR is isolated", func(t *testing.T) {
		c := nc.launchOn(carol, carolImage, "c", "az2", "net2", "10.30.0.13", nil, // the project's default group
			"#!/bin/sh\n# STRATUS-LISTEN-8080 STRATUS-PING-10.30.0.11 STRATUS-PING-10.30.0.12\n")
		nc.waitStatusOf(carol, c, "ACTIVE", 120*time.Second)
		nc.waitConsoleOf(carol, c, 150*time.Second, lab.MarkerNet+" eth0 10.30.0.13/24 mtu=1450")
		nc.reach(carol, c, 60*time.Second, "ping:10.30.0.11:no", "ping:10.30.0.12:no")
		nc.reach(alice, a, 60*time.Second, "ping:10.30.0.13:no", "tcp:10.30.0.13:8080:closed", "ping:10.30.0.12:ok")
	})

	t.Run("an agent restart rewrites exactly the same rules, none twice", func(t *testing.T) {
		before := nc.rules(0)
		if strings.Count(before, "-j stratus-FORWARD") != 1 || !strings.Contains(before, "stratus-i") {
			t.Fatalf("hv1's rules before the restart:\n%s", before)
		}
		logPath := filepath.Join(nc.dir, "compute-hv1.log")
		started := func() int { // agents that finished their start-up apply
			b, _ := os.ReadFile(logPath)
			return strings.Count(string(b), `"msg":"host networking",`)
		}
		before0 := started()
		nc.stopAgent("hv1")
		nc.startAgent(0)
		deadline := time.Now().Add(60 * time.Second)
		for started() == before0 {
			if time.Now().After(deadline) {
				t.Fatalf("the restarted agent never applied its host's networking:\n%s", tail(logPath, 20))
			}
			time.Sleep(200 * time.Millisecond)
		}
		after := nc.rules(0)
		if after != before {
			t.Fatalf("rules changed across the agent's restart:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		nc.reach(alice, a, 30*time.Second, "ping:10.30.0.12:ok", "tcp:10.30.0.12:8080:closed")
	})

	t.Run("deleting everything leaves no bridge, VXLAN, tap, chain, set or dnsmasq", func(t *testing.T) {
		for _, del := range []struct {
			cl *client
			id string
		}{{alice, a}, {alice, b}} {
			del.cl.mustStatus(http.StatusAccepted, "DELETE", "/instances/"+del.id, nil, nil)
		}
		nc.deleteAll(carol)
		nc.waitStatusOf(alice, a, "DELETED", 60*time.Second)
		nc.waitStatusOf(alice, b, "DELETED", 60*time.Second)
		alice.mustStatus(http.StatusNoContent, "DELETE", "/networks/"+n1.ID, nil, nil)
		carol.mustStatus(http.StatusNoContent, "DELETE", "/networks/"+n2.ID, nil, nil)
		deadline := time.Now().Add(30 * time.Second)
		for {
			var left []string
			for i := range nc.labs {
				for _, l := range strings.Split(nc.inHost(i, "ip -o link show"), "\n") {
					if strings.Contains(l, ": brq") || strings.Contains(l, ": vxlan-") || strings.Contains(l, ": tap") {
						left = append(left, fmt.Sprintf("hv%d link %s", i+1, strings.Fields(l)[1]))
					}
				}
				if r := nc.rules(i); r != "" {
					left = append(left, fmt.Sprintf("hv%d rules:\n%s", i+1, r))
				}
				if sets := nc.inHost(i, "ipset list -n"); strings.Contains(sets, "stratus-") {
					left = append(left, fmt.Sprintf("hv%d sets %q", i+1, sets))
				}
				if out, _ := exec.Command("pgrep", "-f", "dnsmasq.*"+nc.netDirs[i]).Output(); len(out) > 0 {
					left = append(left, fmt.Sprintf("hv%d dnsmasq %s", i+1, out))
				}
			}
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("left on the hosts: %s", strings.Join(left, "; "))
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}

// deleteAll deletes every instance of a client's project and waits.
func (nc *netCloud) deleteAll(cl *client) {
	var list struct {
		Instances []instance `json:"instances"`
	}
	cl.must("GET", "/instances", nil, &list)
	for _, in := range list.Instances {
		cl.mustStatus(http.StatusAccepted, "DELETE", "/instances/"+in.ID, nil, nil)
	}
	for _, in := range list.Instances {
		nc.waitStatusOf(cl, in.ID, "DELETED", 60*time.Second)
	}
}
