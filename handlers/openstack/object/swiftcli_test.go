package object_test

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSwiftCLI drives Debian's python3-swiftclient (the `swift` command)
// and curl against Stratus, the way a tenant would: upload a small file
// and, with --use-slo, one larger than the single-object limit; list,
// download and compare hashes; post metadata; a public container read
// anonymously; a temporary URL that works and then expires; copy; delete.
// Without swift or curl it skips — except in CI, which installs them.
func TestSwiftCLI(t *testing.T) {
	for _, tool := range []string{"swift", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
				t.Fatalf("%s is not installed (.ci/deps installs it)", tool)
			}
			t.Skipf("%s is not installed: apt-get install python3-swiftclient curl", tool)
		}
	}
	const limit = 1 << 20 // the single-object limit: 1 MiB
	each(t, limit, func(t *testing.T, e *env) {
		dir := t.TempDir()
		small, big := filepath.Join(dir, "small.bin"), filepath.Join(dir, "big.bin")
		writeRandom(t, small, 200<<10)
		writeRandom(t, big, 3*limit+12345)
		storage := strings.TrimSuffix(e.url(""), "/")
		swift := func(args ...string) (string, error) {
			cmd := exec.Command("swift", append([]string{"--os-auth-token", e.member, "--os-storage-url", storage}, args...)...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "HOME="+dir)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		must := func(args ...string) string {
			t.Helper()
			out, err := swift(args...)
			if err != nil {
				t.Fatalf("swift %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return out
		}
		curl := func(url string) (status, body string) {
			t.Helper()
			out, err := exec.Command("curl", "-s", "-o", filepath.Join(dir, "curl.out"), "-w", "%{http_code}", url).Output()
			if err != nil {
				t.Fatalf("curl %s: %v", url, err)
			}
			b, _ := os.ReadFile(filepath.Join(dir, "curl.out"))
			return string(out), string(b)
		}

		if out := must("capabilities"); !strings.Contains(out, "max_file_size: 1048576") || !strings.Contains(out, "slo") {
			t.Errorf("capabilities:\n%s", out)
		}
		must("upload", "c", "small.bin")
		if out, err := swift("upload", "c", "big.bin"); err == nil || !strings.Contains(out, "413") {
			t.Errorf("a file over the limit without segments: err=%v\n%s", err, out)
		}
		must("upload", "--use-slo", "--segment-size", "1048576", "c", "big.bin")
		if out := must("list", "c"); out != "big.bin\nsmall.bin\n" {
			t.Errorf("list c: %q", out)
		}
		if out := must("list"); out != "c\nc_segments\n" {
			t.Errorf("list: %q", out)
		}
		if out := must("stat", "c", "big.bin"); !strings.Contains(out, "Content Length: "+strconv.Itoa(3*limit+12345)) || !strings.Contains(out, "X-Static-Large-Object: True") {
			t.Errorf("stat of the large object:\n%s", out)
		}
		got := filepath.Join(dir, "got")
		must("download", "c", "-D", got)
		for _, f := range []string{"small.bin", "big.bin"} {
			if a, b := md5file(t, filepath.Join(dir, f)), md5file(t, filepath.Join(got, f)); a != b {
				t.Errorf("%s: uploaded MD5 %s, downloaded %s", f, a, b)
			}
		}

		must("post", "-m", "color:blue", "c", "small.bin")
		if out := must("stat", "c", "small.bin"); !strings.Contains(out, "Meta Color: blue") {
			t.Errorf("metadata:\n%s", out)
		}
		must("copy", "-d", "/c/copy.bin", "c", "small.bin")

		// Public: curl without a token.
		if st, _ := curl(storage + "/c/small.bin"); st != "401" {
			t.Errorf("anonymous read of a private container: %s", st)
		}
		must("post", "-r", ".r:*,.rlistings", "c")
		if st, body := curl(storage + "/c/copy.bin"); st != "200" || md5hex(body) != md5file(t, small) {
			t.Errorf("anonymous read of a public container: %s", st)
		}
		if st, body := curl(storage + "/c"); st != "200" || !strings.Contains(body, "small.bin") {
			t.Errorf("anonymous listing: %s %q", st, body)
		}
		must("post", "-r", "", "c")

		// A temporary URL, as `swift tempurl` signs it (over /v1/…),
		// served under /object-storage: works, then expires.
		must("post", "-m", "Temp-URL-Key: cli-secret")
		path := "/v1/AUTH_" + e.p + "/c/small.bin"
		signed := strings.TrimSpace(must("tempurl", "GET", "3", path, "cli-secret"))
		if !strings.HasPrefix(signed, path+"?temp_url_sig=") {
			t.Fatalf("swift tempurl printed %q", signed)
		}
		tempURL := strings.TrimSuffix(storage, "/v1/AUTH_"+e.p) + signed
		if st, body := curl(tempURL); st != "200" || md5hex(body) != md5file(t, small) {
			t.Errorf("temporary URL: %s", st)
		}
		if st, _ := curl(storage + "/c/small.bin"); st != "401" {
			t.Errorf("private again, yet anonymous read: %s", st)
		}
		time.Sleep(4 * time.Second)
		if st, _ := curl(tempURL); st != "401" {
			t.Errorf("an expired temporary URL: %s", st)
		}

		// Delete: the large object's segments go with it.
		must("delete", "c", "big.bin")
		if out := must("list", "c_segments"); out != "" {
			t.Errorf("segments left: %q", out)
		}
		must("delete", "--all")
		if out := must("list"); out != "" {
			t.Errorf("after delete --all: %q", out)
		}
		if n := e.blobs(); n != 0 {
			t.Errorf("%d blobs left", n)
		}

		// v1 auth with a user's password (swift -A … -U project:user -K …).
		cmd := exec.Command("swift", "-A", e.srv.URL+"/object-storage/auth/v1.0", "-U", "p:alice", "-K", "object-password-1", "stat")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Account: AUTH_"+e.p) {
			t.Errorf("swift with v1 auth: %v\n%s", err, out)
		}
	})
}

func writeRandom(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func md5file(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}
