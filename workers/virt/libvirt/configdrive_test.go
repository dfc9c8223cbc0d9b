package libvirt

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdomanski/iso9660"

	"stratus/workers/virt"
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

// network_data.json as Nova writes it: a link per NIC, a network per
// fixed IP (ipv4_dhcp when the subnet serves DHCP, else static with its
// route), the DNS servers as services.
func TestNetworkData(t *testing.T) {
	nics := []virt.NIC{
		{PortID: "p1-uuid", NetworkID: "n1-uuid", MAC: "fa:16:3e:00:00:01", Tap: "tapp1-uuid", MTU: 1450,
			Subnets: []virt.NICSubnet{{IP: "10.0.0.5", CIDR: "10.0.0.0/24", Gateway: "10.0.0.1", DNS: []string{"10.0.0.53"}, DHCP: true}}},
		{PortID: "p2-uuid", NetworkID: "n2-uuid", MAC: "fa:16:3e:00:00:02", Tap: "tapp2-uuid", MTU: 1400,
			Subnets: []virt.NICSubnet{{IP: "192.168.7.9", CIDR: "192.168.7.0/23", Gateway: "192.168.7.1", DNS: []string{"10.0.0.53"}}}},
	}
	cd := ConfigDrive{InstanceID: testID, Name: "n", NICs: nics}
	files, err := cd.Files()
	if err != nil {
		t.Fatal(err)
	}
	var nd struct {
		Links []struct {
			ID, VIFID, Type, MAC string
			MTU                  int
		}
		Networks []struct {
			ID, Type, Link, NetworkID, IPAddress, Netmask string
			Routes                                        []struct{ Network, Netmask, Gateway string }
		}
		Services []struct{ Type, Address string }
	}
	raw := files["openstack/latest/network_data.json"]
	// Nova's member names, decoded by hand from the generic shape.
	var generic map[string][]map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	for _, l := range generic["links"] {
		nd.Links = append(nd.Links, struct {
			ID, VIFID, Type, MAC string
			MTU                  int
		}{l["id"].(string), l["vif_id"].(string), l["type"].(string), l["ethernet_mac_address"].(string), int(l["mtu"].(float64))})
	}
	if len(nd.Links) != 2 || nd.Links[0].ID != "tapp1-uuid" || nd.Links[0].VIFID != "p1-uuid" || nd.Links[0].Type != "bridge" ||
		nd.Links[0].MAC != "fa:16:3e:00:00:01" || nd.Links[1].MTU != 1400 {
		t.Fatalf("links = %+v", nd.Links)
	}
	nets := generic["networks"]
	if len(nets) != 2 || nets[0]["type"] != "ipv4_dhcp" || nets[0]["link"] != "tapp1-uuid" || nets[0]["network_id"] != "n1-uuid" || nets[0]["ip_address"] != nil {
		t.Fatalf("first network = %v", nets[0])
	}
	if nets[1]["type"] != "ipv4" || nets[1]["ip_address"] != "192.168.7.9" || nets[1]["netmask"] != "255.255.254.0" || nets[1]["id"] != "network1" {
		t.Fatalf("second network = %v", nets[1])
	}
	if routes := nets[1]["routes"].([]any); len(routes) != 1 || routes[0].(map[string]any)["gateway"] != "192.168.7.1" {
		t.Fatalf("routes = %v", routes)
	}
	if svc := generic["services"]; len(svc) != 1 || svc[0]["type"] != "dns" || svc[0]["address"] != "10.0.0.53" {
		t.Fatalf("services = %v (each DNS server once)", svc)
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
