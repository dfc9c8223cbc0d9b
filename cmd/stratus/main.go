// Command stratus is the whole cloud in one binary: `stratus serve` (web UI
// and API), `stratus scheduler`, `stratus compute`, `stratus volume`, `stratus dev` (all of
// them on an embedded SQLite file), and the maintenance commands migrate,
// bootstrap and version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the web UI and the JSON API (any number of them)", runServe},
		{"scheduler", "place instances on hosts and run the queue's maintenance (one or more)", runScheduler},
		{"compute", "run the agent of one hypervisor host", runCompute},
		{"volume", "run the volume service of one storage backend", runVolume},
		{"dev", "run everything in one process on an embedded SQLite file (make run)", runDev},
		{"migrate", "bring the database schema to the newest version", runMigrate},
		{"bootstrap", "create the first admin user and project", runBootstrap},
		{"version", "print the version and build information", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Stratus — a small cloud OS for libvirt/qemu hosts.\n\nUsage: stratus <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nEvery flag can also be set by an environment variable: --db is STRATUS_DB, --log-format is STRATUS_LOG_FORMAT.\n"+
		"Run `stratus <command> --help` for a command's flags.\n")
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	name := os.Args[1]
	if name == "-h" || name == "--help" || name == "help" {
		usage(os.Stdout)
		return
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := c.run(ctx, os.Args[2:], os.Stdout)
		stop()
		switch {
		case err == nil:
			return
		case errors.Is(err, flag.ErrHelp):
			return
		case errors.Is(err, errUsage):
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "stratus %s: %v\n", name, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "stratus: unknown command %q\n\n", name)
	usage(os.Stderr)
	os.Exit(2)
}
