package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// runCompute is the hypervisor host agent. It arrives with the compute
// control plane; until then it says so instead of pretending to run.
func runCompute(_ context.Context, args []string, _ io.Writer) error {
	fs := flag.NewFlagSet("compute", flag.ContinueOnError)
	if err := parseFlags(fs, "Run the agent of one hypervisor host (not available yet).", args); err != nil {
		return err
	}
	return fmt.Errorf("the compute agent is not available yet: it comes with the compute control plane; nothing was started")
}
