// Package qemuimg runs qemu-img for the drivers that keep disks in files:
// the libvirt hypervisor driver (instance disks, image bases, disk copies)
// and the file volume backend. It owns how the tool is called, how its
// failures read ("qemu-img <subcommand>: <the first line of its stderr>"),
// the progress `convert -p` reports, and the part of `qemu-img info` the
// drivers read.
package qemuimg

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// Tool is the qemu-img binary to run: a path or a name to look up in PATH;
// "" is qemu-img from PATH.
type Tool string

func (t Tool) bin() string {
	if t == "" {
		return "qemu-img"
	}
	return string(t)
}

// Installed reports whether the binary can be found (an error saying why
// not otherwise).
func (t Tool) Installed() error {
	_, err := exec.LookPath(t.bin())
	return err
}

// Run runs qemu-img with args (the subcommand first) and returns its
// stdout.
func (t Tool) Run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, t.bin(), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, failed(args, stderr.String(), err)
	}
	return out, nil
}

// RunProgress runs qemu-img with args that ask for progress (`convert -p`)
// and calls progress with each whole percentage it reports, then 100 once
// it has succeeded.
func (t Tool) RunProgress(ctx context.Context, progress func(int), args ...string) error {
	cmd := exec.CommandContext(ctx, t.bin(), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("qemu-img %s: %w", args[0], err)
	}
	readProgress(out, progress)
	if err := cmd.Wait(); err != nil {
		return failed(args, stderr.String(), err)
	}
	progress(100)
	return nil
}

// failed is the error of a qemu-img run that failed: its subcommand and
// the first line of its stderr (the exit status when it said nothing).
func failed(args []string, stderr string, err error) error {
	msg := strings.TrimSpace(stderr)
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if msg == "" {
		msg = err.Error()
	}
	return fmt.Errorf("qemu-img %s: %s", args[0], msg)
}

// readProgress calls fn with each whole percentage qemu-img reports:
// `convert -p` prints "(12.34/100%)", each ended by a carriage return.
func readProgress(r io.Reader, fn func(int)) {
	sc := bufio.NewScanner(r)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	last := -1
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "(")
		num, _, ok := strings.Cut(line, "/100%")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			continue
		}
		if pct := int(f); pct != last {
			last = pct
			fn(pct)
		}
	}
}

// Info is the part of `qemu-img info --output=json` the drivers read.
type Info struct {
	Format        string `json:"format"`
	VirtualSize   int64  `json:"virtual-size"`
	BackingFile   string `json:"full-backing-filename"`
	BackingFormat string `json:"backing-filename-format"`
}

// Info reads the header of the image at path; flags go before the path
// (-U reads a file a running guest holds).
func (t Tool) Info(ctx context.Context, path string, flags ...string) (Info, error) {
	args := append(append([]string{"info"}, flags...), "--output=json", path)
	out, err := t.Run(ctx, args...)
	if err != nil {
		return Info{}, err
	}
	var info Info
	if err := json.Unmarshal(out, &info); err != nil {
		return Info{}, fmt.Errorf("qemu-img info %s: %w", path, err)
	}
	return info, nil
}
