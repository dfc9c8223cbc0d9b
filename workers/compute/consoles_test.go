package compute

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadLogTailAcrossRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "console.log")
	if err := os.WriteFile(path+".0", []byte("old-old-old\nolder line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("new line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{5, "line\n"},
		{20, "older line\nnew line\n"},
		{1000, "old-old-old\nolder line\nnew line\n"},
	} {
		got, err := readLogTail(path, tt.n)
		if err != nil || string(got) != tt.want {
			t.Errorf("readLogTail(%d) = %q, %v; want %q", tt.n, got, err, tt.want)
		}
	}
	if err := os.Remove(path + ".0"); err != nil {
		t.Fatal(err)
	}
	if got, err := readLogTail(path, 1000); err != nil || string(got) != "new line\n" {
		t.Errorf("without a rotated part: %q %v", got, err)
	}
}
