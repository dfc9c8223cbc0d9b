package libvirt

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdomanski/iso9660"
)

// readISO returns the files of an ISO9660 image by path, read back with the
// library that wrote it.
func readISO(t *testing.T, path string) (string, map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := iso9660.OpenImage(f)
	if err != nil {
		t.Fatal(err)
	}
	label, err := img.Label()
	if err != nil {
		t.Fatal(err)
	}
	root, err := img.RootDir()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	var walk func(dir *iso9660.File, prefix string)
	walk = func(dir *iso9660.File, prefix string) {
		children, err := dir.GetChildren()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range children {
			p := prefix + c.Name()
			if c.IsDir() {
				walk(c, p+"/")
				continue
			}
			b, err := io.ReadAll(c.Reader())
			if err != nil {
				t.Fatal(err)
			}
			files[p] = string(b)
		}
	}
	walk(root, "")
	return label, files
}

func TestConfigDriveISO(t *testing.T) {
	cd := ConfigDrive{InstanceID: testID, Name: "Web Server #1", ProjectID: "p1", AvailabilityZone: "nova",
		KeyName: "mykey", KeyData: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG5vdGFyZWFsa2V5 me@host\n",
		UserData: "#!/bin/sh\necho STRATUS-USERDATA-42\n"}
	path := filepath.Join(t.TempDir(), "disk.config")
	if err := cd.WriteISO(path); err != nil {
		t.Fatal(err)
	}
	label, files := readISO(t, path)
	if label != "config-2" {
		t.Errorf("label = %q, want config-2 (what cloud-init looks for)", label)
	}
	var md struct {
		UUID       string            `json:"uuid"`
		Name       string            `json:"name"`
		Hostname   string            `json:"hostname"`
		PublicKeys map[string]string `json:"public_keys"`
		Keys       []struct{ Name, Type, Data string }
	}
	if err := json.Unmarshal([]byte(files["openstack/latest/meta_data.json"]), &md); err != nil {
		t.Fatalf("meta_data.json: %v (files: %v)", err, keys(files))
	}
	if md.UUID != testID || md.Name != "Web Server #1" || md.Hostname != "web-server-1" {
		t.Errorf("meta_data = %+v", md)
	}
	wantKey := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG5vdGFyZWFsa2V5 me@host"
	if md.PublicKeys["mykey"] != wantKey || len(md.Keys) != 1 || md.Keys[0].Data != wantKey {
		t.Errorf("keys = %v %v", md.PublicKeys, md.Keys)
	}
	if files["openstack/latest/user_data"] != cd.UserData {
		t.Errorf("user_data = %q", files["openstack/latest/user_data"])
	}
	var nd map[string]any
	if err := json.Unmarshal([]byte(files["openstack/latest/network_data.json"]), &nd); err != nil || len(nd["links"].([]any)) != 0 {
		t.Errorf("network_data.json = %q (%v)", files["openstack/latest/network_data.json"], err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("config drive mode = %v %v: qemu's user must read it", fi.Mode(), err)
	}
}

func TestConfigDriveWithoutKeyOrUserData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk.config")
	if err := (ConfigDrive{InstanceID: testID, Name: "a"}).WriteISO(path); err != nil {
		t.Fatal(err)
	}
	_, files := readISO(t, path)
	if _, ok := files["openstack/latest/user_data"]; ok {
		t.Error("user_data written without user data")
	}
	var md map[string]any
	if err := json.Unmarshal([]byte(files["openstack/latest/meta_data.json"]), &md); err != nil {
		t.Fatal(err)
	}
	if _, ok := md["public_keys"]; ok {
		t.Error("public_keys written without a key")
	}
}

func TestHostname(t *testing.T) {
	tests := []struct{ name, want string }{
		{"web-1", "web-1"},
		{"Web Server #1", "web-server-1"},
		{"--x--", "x"},
		{"日本", "instance-0b6e3c1e"},
		{strings.Repeat("a", 70), strings.Repeat("a", 63)},
	}
	for _, tt := range tests {
		if got := Hostname(tt.name, testID); got != tt.want {
			t.Errorf("Hostname(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
