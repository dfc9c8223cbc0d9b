package libvirt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kdomanski/iso9660"

	"stratus/workers/virt"
)

// ConfigDriveLabel is the volume label cloud-init and Glean look for.
const ConfigDriveLabel = "config-2"

// ConfigDrive is what an instance learns about itself at boot, written as
// an OpenStack config drive (openstack/latest/…).
type ConfigDrive struct {
	InstanceID       string
	Name             string
	Hostname         string
	ProjectID        string
	AvailabilityZone string
	KeyName          string
	KeyData          string // an OpenSSH public key
	UserData         string
	NICs             []virt.NIC // network_data.json
}

// metaData is openstack/latest/meta_data.json, in Nova's shape.
type metaData struct {
	UUID             string            `json:"uuid"`
	Name             string            `json:"name"`
	Hostname         string            `json:"hostname"`
	ProjectID        string            `json:"project_id"`
	AvailabilityZone string            `json:"availability_zone,omitempty"`
	LaunchIndex      int               `json:"launch_index"`
	PublicKeys       map[string]string `json:"public_keys,omitempty"`
	Keys             []metaKey         `json:"keys,omitempty"`
	Meta             map[string]string `json:"meta"`
}

type metaKey struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Data string `json:"data"`
}

// Files returns the config drive's files by path.
func (c ConfigDrive) Files() (map[string][]byte, error) {
	md := metaData{UUID: c.InstanceID, Name: c.Name, Hostname: c.Hostname, ProjectID: c.ProjectID,
		AvailabilityZone: c.AvailabilityZone, Meta: map[string]string{}}
	if md.Hostname == "" {
		md.Hostname = Hostname(c.Name, c.InstanceID)
	}
	if c.KeyData != "" {
		name := c.KeyName
		if name == "" {
			name = "default"
		}
		key := strings.TrimSpace(c.KeyData)
		md.PublicKeys = map[string]string{name: key}
		md.Keys = []metaKey{{Name: name, Type: "ssh", Data: key}}
	}
	meta, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return nil, err
	}
	netData, err := json.MarshalIndent(NetworkData(c.NICs), "", "  ")
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"openstack/latest/meta_data.json":    meta,
		"openstack/latest/network_data.json": netData,
		"openstack/latest/vendor_data.json":  []byte("{}"),
	}
	if c.UserData != "" {
		files["openstack/latest/user_data"] = []byte(c.UserData)
	}
	return files, nil
}

// WriteISO writes the config drive as an ISO9660 volume labelled config-2,
// atomically (a temporary file renamed into place).
func (c ConfigDrive) WriteISO(path string) error {
	files, err := c.Files()
	if err != nil {
		return err
	}
	w, err := iso9660.NewWriter()
	if err != nil {
		return fmt.Errorf("config drive: %w", err)
	}
	defer w.Cleanup()
	for name, data := range files {
		if err := w.AddFile(bytes.NewReader(data), name); err != nil {
			return fmt.Errorf("config drive: add %s: %w", name, err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.iso")
	if err != nil {
		return fmt.Errorf("config drive: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := w.WriteTo(tmp, ConfigDriveLabel); err != nil {
		tmp.Close()
		return fmt.Errorf("config drive: write ISO: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

var notHostnameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// Hostname turns a display name into a valid host name (RFC 1123 label),
// as Nova does: lower case, other characters to '-', at most 63
// characters; "instance-<uuid prefix>" when nothing is left.
func Hostname(name, id string) string {
	h := notHostnameChars.ReplaceAllString(strings.ToLower(name), "-")
	h = strings.Trim(h, "-")
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-")
	}
	if h == "" {
		h = "instance-" + truncate(id, 8)
	}
	return h
}
