package qemuimg_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"stratus/workers/qemuimg"
)

// script writes a stand-in for qemu-img that runs body.
func script(t *testing.T, body string) qemuimg.Tool {
	t.Helper()
	path := filepath.Join(t.TempDir(), "qemu-img")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return qemuimg.Tool(path)
}

func TestFailuresNameTheSubcommandAndTheFirstLine(t *testing.T) {
	ctx := context.Background()
	cases := []struct{ name, body, want string }{
		{"first line of stderr", `echo "qemu-img: Could not open 'x': Failed to get shared \"write\" lock" >&2; echo "Is another process using the image [x]?" >&2; exit 1`,
			`qemu-img create: qemu-img: Could not open 'x': Failed to get shared "write" lock`},
		{"exit status when silent", `exit 3`, "qemu-img create: exit status 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := script(t, tc.body).Run(ctx, "create", "-q", "x")
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
			err = script(t, tc.body).RunProgress(ctx, func(int) {}, "create", "-p", "x")
			if err == nil || err.Error() != tc.want {
				t.Errorf("with progress: error %v, want %s", err, tc.want)
			}
		})
	}
	if _, err := qemuimg.Tool(filepath.Join(t.TempDir(), "none")).Run(ctx, "info", "x"); err == nil {
		t.Error("a missing binary ran")
	}
}

func TestRunReturnsStdout(t *testing.T) {
	out, err := script(t, `echo "$@"`).Run(context.Background(), "info", "--output=json", "a b")
	if err != nil || string(out) != "info --output=json a b\n" {
		t.Errorf("stdout %q %v", out, err)
	}
}

func TestRunProgressReportsWholePercentages(t *testing.T) {
	tool := script(t, `printf '    (0.00/100%%)\r    (0.50/100%%)\r    (37.10/100%%)\r    (100.00/100%%)\r\n'`)
	var got []int
	if err := tool.RunProgress(context.Background(), func(p int) { got = append(got, p) }, "convert", "-p", "a", "b"); err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 37, 100, 100}; !slices.Equal(got, want) {
		t.Errorf("progress %v, want %v", got, want)
	}
}

func TestInfoReadsAnOverlaysBacking(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("qemu-img is missing (.ci/deps installs qemu-utils)")
		}
		t.Skip("qemu-img is not installed")
	}
	ctx := context.Background()
	dir := t.TempDir()
	base, overlay := filepath.Join(dir, "base"), filepath.Join(dir, "overlay")
	var tool qemuimg.Tool
	if _, err := tool.Run(ctx, "create", "-q", "-f", "raw", base, "1M"); err != nil {
		t.Fatal(err)
	}
	// A backing file named relative to the overlay: Info gives its full path.
	if _, err := tool.Run(ctx, "create", "-q", "-f", "qcow2", "-F", "raw", "-b", "base", overlay, "2M"); err != nil {
		t.Fatal(err)
	}
	info, err := tool.Info(ctx, overlay, "-U")
	want := qemuimg.Info{Format: "qcow2", VirtualSize: 2 << 20, BackingFile: base, BackingFormat: "raw"}
	if err != nil || info != want {
		t.Errorf("info %+v %v, want %+v", info, err, want)
	}
	if _, err := tool.Info(ctx, filepath.Join(dir, "none")); err == nil {
		t.Error("info of a missing file")
	}
}

// Installed finds a binary that is there and names one that is not.
func TestInstalled(t *testing.T) {
	if err := script(t, "exit 0").Installed(); err != nil {
		t.Errorf("a stand-in qemu-img: %v", err)
	}
	if err := qemuimg.Tool(filepath.Join(t.TempDir(), "qemu-img")).Installed(); err == nil {
		t.Error("a missing qemu-img counts as installed")
	}
}
