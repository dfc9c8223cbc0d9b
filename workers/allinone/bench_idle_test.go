package allinone_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"stratus/models"
	"stratus/models/storetest"
	"stratus/workers/allinone"
	"stratus/workers/hostdrivers"
	netfake "stratus/workers/net/fake"
	"stratus/workers/virt/fake"
)

// BenchmarkIdleLoad measures what an idle cloud costs its database (issue
// 7 §4): a scheduler and 200 fake hosts in one process on MariaDB with the
// production intervals (agents heartbeat every 10 s, pools poll every 5 s,
// power sync every 60 s), nothing to do. Over a minute at rest: the
// statements Stratus sends the server — counted by a proxy in front of it,
// every COM_QUERY including BEGIN and COMMIT — per host, and mariadbd's CPU
// (when it runs on this machine; other clients of the server count there
// too, so its rate before the cloud started is shown beside it). Target:
// ≤ 0.5 queries/s per host. Figures, not assertions.
func BenchmarkIdleLoad(b *testing.B) {
	raw := os.Getenv(storetest.EnvMySQL)
	if raw == "" {
		b.Skip("needs MariaDB: set " + storetest.EnvMySQL)
	}
	const hosts = 200
	window := time.Minute
	ctx := context.Background()
	_, dsn, err := models.ParseDSN(storetest.DSN(b, storetest.MySQL))
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	proxy := startQueryCounter(b, cfg.Addr)
	cfg.Addr = proxy.addr
	s, err := models.Open(ctx, cfg.FormatDSN(), storetest.Options(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	cpuRate := func(d time.Duration) float64 {
		c0, t0 := mariadbCPU(), time.Now()
		time.Sleep(d)
		return (mariadbCPU() - c0) / time.Since(t0).Seconds()
	}
	for range b.N {
		baseCPU := cpuRate(10 * time.Second)
		names := make([]string, hosts)
		for i := range names {
			names[i] = fmt.Sprintf("idle-%03d", i+1)
		}
		cloud, err := allinone.Start(ctx, allinone.Config{
			Store: s, Hosts: names,
			OpenHost: func(string) (hostdrivers.Host, error) {
				return hostdrivers.Host{Virt: fake.New(fake.DefaultConfig()), Net: netfake.New()}, nil
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(5 * time.Second) // start-up: registration, first claims and power syncs
		q0, t0 := proxy.queries.Load(), time.Now()
		cpu := cpuRate(window)
		q := float64(proxy.queries.Load()-q0) / time.Since(t0).Seconds()
		if err := cloud.Stop(); err != nil {
			b.Fatal(err)
		}
		b.Logf("idle, %d hosts + a scheduler, over %s: %.1f queries/s to the server, %.2f per host (target ≤ 0.5); "+
			"mariadbd CPU %.1f %% of a core (%.1f %% just before the cloud started: the server's other clients)",
			hosts, window, q, q/hosts, 100*cpu, 100*baseCPU)
		b.ReportMetric(q/hosts, "queries/s/host")
		b.ReportMetric(100*cpu, "mariadbd-cpu-%")
		b.ReportMetric(0, "ns/op")
	}
}

// queryCounter is a TCP proxy in front of MariaDB that counts the
// statements clients send through it (MySQL protocol COM_QUERY packets).
type queryCounter struct {
	addr    string
	queries atomic.Int64
}

func startQueryCounter(b *testing.B, server string) *queryCounter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	qc := &queryCounter{addr: ln.Addr().String()}
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", server)
			if err != nil {
				client.Close()
				continue
			}
			go func() { _, _ = io.Copy(client, up); client.Close() }()
			go func() { qc.count(client, up); up.Close() }()
		}
	}()
	return qc
}

// count forwards client→server packets, counting those whose command byte
// is COM_QUERY (0x03). Each packet is a 3-byte length, a sequence number and
// the payload; a command starts a new sequence (number 0).
func (qc *queryCounter) count(from io.Reader, to io.Writer) {
	hdr := make([]byte, 4)
	buf := make([]byte, 64<<10)
	for {
		if _, err := io.ReadFull(from, hdr); err != nil {
			return
		}
		n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
		if len(buf) < n {
			buf = make([]byte, n)
		}
		if _, err := io.ReadFull(from, buf[:n]); err != nil {
			return
		}
		if hdr[3] == 0 && n > 0 && buf[0] == 0x03 {
			qc.queries.Add(1)
		}
		if _, err := to.Write(hdr); err != nil {
			return
		}
		if _, err := to.Write(buf[:n]); err != nil {
			return
		}
	}
}

// mariadbCPU is the CPU time (s) mariadbd has used, when it runs on this
// machine (0 otherwise).
func mariadbCPU() float64 {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "mariadbd" {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			return 0
		}
		// Fields after the ")" of the command: utime and stime are the
		// 12th and 13th, in clock ticks (100 per second on Linux).
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 13 {
			return 0
		}
		u, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		return (u + st) / 100
	}
	return 0
}
