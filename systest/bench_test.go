package systest

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"
)

// BenchmarkBootOnLibvirt measures real guests on a real libvirtd (make
// bench, as root): API→ACTIVE for one guest and for two at once, each split
// into Stratus' share (API call to DomainCreate called, plus the report
// back) and libvirt's (the DomainCreate call); the same domain started with
// `virsh define && virsh start`; and the compute agent's idle RSS. The
// image is in the host's cache before anything is timed. Figures, not
// assertions.
func BenchmarkBootOnLibvirt(b *testing.B) {
	poll := 50 * time.Millisecond
	c := startCloud(b, poll)
	b.Logf("machine: %d cores; libvirt %s; guest: 1 vCPU, 192 MiB, TCG; scheduler and agent poll every %s", nprocs(), libvirtVersion(c), poll)
	// The image is cached by a first guest; the virsh comparison starts a
	// copy of its domain once it idles (a booting TCG guest takes a whole
	// core, which would slow whatever is timed beside it).
	warm := c.launch("warm-up", "")
	c.waitStatus(warm, "ACTIVE", 60*time.Second)
	c.waitConsole(warm, 90*time.Second, "STRATUS-GUEST-READY")
	virsh := c.timeVirsh(b, warm)
	c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/instances/"+warm, nil, nil)
	c.waitStatus(warm, "DELETED", 60*time.Second)

	b.ResetTimer()
	for range b.N {
		one := c.timeLaunches(b, 1)
		b.StopTimer()
		c.waitConsole(one[0].id, 90*time.Second, "STRATUS-GUEST-READY")
		b.StartTimer()
		two := c.timeLaunches(b, 2)
		b.StopTimer()
		for _, r := range append(one, two...) {
			c.tenant.mustStatus(http.StatusAccepted, "DELETE", "/instances/"+r.id, nil, nil)
		}
		for _, r := range append(one, two...) {
			c.waitStatus(r.id, "DELETED", 60*time.Second)
		}
		time.Sleep(5 * time.Second) // let the agent settle before reading its RSS
		rss := rssMiB(c.procs["compute"].Process.Pid)

		report := func(label string, rs []launch) {
			for i, r := range rs {
				b.Logf("%s #%d: API→ACTIVE %6.0f ms = Stratus %5.0f ms (API→DomainCreate called %5.0f ms, DomainCreate returned→ACTIVE %4.0f ms) + libvirt DomainCreate %5.0f ms",
					label, i+1, ms(r.active), ms(r.active-r.create), ms(r.toCreate), ms(r.active-r.toCreate-r.create), ms(r.create))
			}
		}
		report("1 guest     ", one)
		report("2 at once   ", two)
		overhead := one[0].toCreate + one[0].create - virsh.total
		b.Logf("virsh define %4.0f ms + virsh start %4.0f ms = %4.0f ms (a copy of the same domain, image cached, machine idle)", ms(virsh.define), ms(virsh.start), ms(virsh.total))
		b.Logf("Stratus, API call → DomainCreate returned: %4.0f ms, i.e. %+4.0f ms against virsh define && virsh start (target: at most +300 ms)",
			ms(one[0].toCreate+one[0].create), ms(overhead))
		heap, sys := c.agentMemStats()
		b.Logf("compute agent idle RSS: %.1f MiB (target ≤ 30 MiB); Go heap in use %.1f MiB, obtained from the OS %.1f MiB", rss, heap, sys)
		b.ReportMetric(ms(one[0].active), "ms-active-1")
		b.ReportMetric(ms(max(two[0].active, two[1].active)), "ms-active-2")
		b.ReportMetric(ms(one[0].create), "ms-domaincreate")
		b.ReportMetric(ms(virsh.total), "ms-virsh")
		b.ReportMetric(ms(overhead), "ms-overhead")
		b.ReportMetric(rss, "MiB-agent-rss")
	}
}

type launch struct {
	id       string
	active   time.Duration // API call → ACTIVE seen through the API
	toCreate time.Duration // API call → DomainCreate called
	create   time.Duration // the DomainCreate call
}

// timeLaunches launches n guests at once and times each to ACTIVE.
func (c *cloud) timeLaunches(b *testing.B, n int) []launch {
	out := make([]launch, n)
	starts := make([]time.Time, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			starts[i] = time.Now()
			out[i].id = c.launch(fmt.Sprintf("bench-%d-%d", n, i), "")
			for {
				in := c.get(out[i].id)
				if in.Status == "ACTIVE" && in.TaskState == nil {
					out[i].active = time.Since(starts[i])
					return
				}
				if in.Status == "ERROR" {
					b.Errorf("bench instance went to ERROR")
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	for i := range out {
		rec := c.domainCreate(out[i].id)
		if rec == nil {
			b.Fatalf("no DomainCreate record for %s", out[i].id)
		}
		returned, _ := time.Parse(time.RFC3339Nano, rec["time"].(string))
		out[i].create = time.Duration(rec["duration_ms"].(float64)) * time.Millisecond
		out[i].toCreate = returned.Sub(starts[i]) - out[i].create
	}
	return out
}

// domainCreate is the agent's log record of the first DomainCreate of an
// instance's domain.
func (c *cloud) domainCreate(id string) map[string]any {
	for _, rec := range c.computeLogs("libvirt DomainCreate") {
		if rec["domain"] == "stratus-"+id {
			return rec
		}
	}
	return nil
}

type virshTiming struct{ define, start, total time.Duration }

// timeVirsh defines and starts a copy of an instance's domain with virsh:
// the same XML (its own name, UUID, overlay and config drive), timed as
// two commands the way an operator would run them.
func (c *cloud) timeVirsh(b *testing.B, id string) virshTiming {
	x, err := c.lab.Virsh("dumpxml", "--inactive", "stratus-"+id)
	if err != nil {
		b.Fatalf("virsh dumpxml: %v %s", err, x)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(c.lab.Dir, "virsh-copy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	d.Name, d.UUID, d.Metadata = "virsh-copy", "", nil
	for i, disk := range d.Devices.Disks {
		src := disk.Source.File.File
		dst := filepath.Join(dir, filepath.Base(src))
		if disk.Device == "disk" {
			// The same base as the instance's overlay: the cached image.
			base := filepath.Join(c.lab.Dir, "image-cache", c.imageID)
			if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, dst, "1G").CombinedOutput(); err != nil {
				b.Fatalf("qemu-img: %v %s", err, out)
			}
		} else if out, err := exec.Command("cp", src, dst).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v %s", err, out)
		}
		d.Devices.Disks[i].Source.File.File = dst
	}
	for _, f := range []*string{&d.OS.Kernel, &d.OS.Initrd} {
		if *f != "" {
			dst := filepath.Join(dir, filepath.Base(*f))
			if out, err := exec.Command("cp", *f, dst).CombinedOutput(); err != nil {
				b.Fatalf("cp: %v %s", err, out)
			}
			*f = dst
		}
	}
	d.Devices.Serials[0].Log.File = filepath.Join(dir, "console.log")
	xmlPath := filepath.Join(dir, "domain.xml")
	out, err := d.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(xmlPath, []byte(out), 0o644); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if o, err := c.lab.Virsh("define", xmlPath); err != nil {
		b.Fatalf("virsh define: %v %s", err, o)
	}
	t1 := time.Now()
	if o, err := c.lab.Virsh("start", "virsh-copy"); err != nil {
		b.Fatalf("virsh start: %v %s", err, o)
	}
	t2 := time.Now()
	_, _ = c.lab.Virsh("destroy", "virsh-copy")
	_, _ = c.lab.Virsh("undefine", "virsh-copy")
	return virshTiming{define: t1.Sub(t0), start: t2.Sub(t1), total: t2.Sub(t0)}
}

func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func nprocs() int {
	out, _ := exec.Command("nproc").Output()
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func libvirtVersion(c *cloud) string {
	out, _ := c.lab.Virsh("version", "--daemon")
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "daemon") {
			f := strings.Fields(line)
			return f[len(f)-1]
		}
	}
	return "?"
}

// agentMemStats reads the agent's Go heap in use and memory obtained from
// the OS from its /metrics.
func (c *cloud) agentMemStats() (heapMiB, sysMiB float64) {
	resp, err := http.Get("http://" + c.computeMetrics + "/metrics")
	if err != nil {
		return -1, -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "go_memstats_heap_inuse_bytes":
			heapMiB = v / (1 << 20)
		case "go_memstats_sys_bytes":
			sysMiB = v / (1 << 20)
		}
	}
	return heapMiB, sysMiB
}
