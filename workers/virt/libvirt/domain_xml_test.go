package libvirt

import (
	"strings"
	"testing"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"stratus/workers/virt"
)

const testID = "0b6e3c1e-2f7a-4d2b-9a51-5d1c7c0f4e21"

func TestDomainXML(t *testing.T) {
	base := DomainSpec{InstanceID: testID, Host: "hv1", Name: "web <1>", ProjectID: "p1", Flavor: "m1.tiny", VirtType: "qemu",
		VCPUs: 2, RAMMB: 256, RootDisk: "/i/" + testID + "/disk", ConfigDrive: "/i/" + testID + "/disk.config",
		ConsoleLog: "/i/" + testID + "/console.log", VNCListen: "10.0.0.5"}
	threePart := base
	threePart.Kernel, threePart.Initrd, threePart.Cmdline = "/i/k", "/i/r", "root=/dev/vda console=ttyS0"
	withEph := base
	withEph.VirtType, withEph.EphemeralDisk = "kvm", "/i/eph"
	withNICs := base
	withNICs.NICs = []virt.NIC{{PortID: "0f1e2d3c-4b5a-4000-8000-000000000001", MAC: "fa:16:3e:12:34:56", Bridge: "brq6a1d2c3e-11",
		Tap: "tap0f1e2d3c-4b", MTU: 1450}, {PortID: "0f1e2d3c-4b5a-4000-8000-000000000002", MAC: "fa:16:3e:12:34:57",
		Bridge: "brq7b2e3d4f-22", Tap: "tap0f1e2d3c-4c", MTU: 1400}}

	tests := []struct {
		name  string
		spec  DomainSpec
		check func(t *testing.T, d *libvirtxml.Domain)
	}{
		{"disk image boots from hd", base, func(t *testing.T, d *libvirtxml.Domain) {
			if d.OS.Kernel != "" || len(d.OS.BootDevices) != 1 || d.OS.BootDevices[0].Dev != "hd" {
				t.Errorf("os = %+v, want boot from hd without a kernel", d.OS)
			}
			if len(d.Devices.Disks) != 2 {
				t.Fatalf("disks = %d, want root and config drive", len(d.Devices.Disks))
			}
		}},
		{"three-part image boots its kernel and initrd", threePart, func(t *testing.T, d *libvirtxml.Domain) {
			if d.OS.Kernel != "/i/k" || d.OS.Initrd != "/i/r" || !strings.Contains(d.OS.Cmdline, "console=ttyS0") {
				t.Errorf("os = kernel %q initrd %q cmdline %q", d.OS.Kernel, d.OS.Initrd, d.OS.Cmdline)
			}
			if len(d.OS.BootDevices) != 0 {
				t.Errorf("boot devices %v with a kernel", d.OS.BootDevices)
			}
		}},
		{"NICs are bridged virtio interfaces with the port's MAC, tap and MTU", withNICs, func(t *testing.T, d *libvirtxml.Domain) {
			if len(d.Devices.Interfaces) != 2 {
				t.Fatalf("interfaces = %+v", d.Devices.Interfaces)
			}
			for i, iface := range d.Devices.Interfaces {
				n := withNICs.NICs[i]
				if iface.Source == nil || iface.Source.Bridge == nil || iface.Source.Bridge.Bridge != n.Bridge || iface.MAC.Address != n.MAC ||
					iface.Target.Dev != n.Tap || iface.Model.Type != "virtio" || iface.MTU == nil || iface.MTU.Size != uint(n.MTU) {
					t.Errorf("interface %d = %+v, want %+v", i, iface, n)
				}
			}
		}},
		{"kvm with an ephemeral disk", withEph, func(t *testing.T, d *libvirtxml.Domain) {
			if d.Type != "kvm" {
				t.Errorf("type = %q", d.Type)
			}
			if len(d.Devices.Disks) != 3 || d.Devices.Disks[1].Target.Dev != "vdb" {
				t.Errorf("disks = %+v, want vda, vdb (ephemeral), config drive", d.Devices.Disks)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := DomainXML(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			var d libvirtxml.Domain
			if err := d.Unmarshal(x); err != nil {
				t.Fatalf("the XML does not parse back: %v\n%s", err, x)
			}
			// Common to every domain.
			if d.Name != "stratus-"+testID || d.UUID != testID {
				t.Errorf("name/uuid = %q/%q", d.Name, d.UUID)
			}
			if d.Memory.Value != 256 || d.Memory.Unit != "MiB" || d.VCPU.Value != 2 {
				t.Errorf("size = %d %s, %d vCPUs", d.Memory.Value, d.Memory.Unit, d.VCPU.Value)
			}
			if d.Features == nil || d.Features.ACPI == nil || d.Features.APIC == nil {
				t.Error("no ACPI/APIC: a TCG guest would see no virtio devices")
			}
			m, ok := ParseMetadata(d.Metadata.XML)
			if !ok || m.InstanceID != testID || m.Host != "hv1" || m.ProjectID != "p1" || m.Flavor != "m1.tiny" || m.Name != "web <1>" {
				t.Errorf("metadata = %+v (ok %v) from %q", m, ok, d.Metadata.XML)
			}
			root := d.Devices.Disks[0]
			if root.Target.Dev != "vda" || root.Target.Bus != "virtio" || root.Driver.Type != "qcow2" || root.Source.File.File != tt.spec.RootDisk {
				t.Errorf("root disk = %+v", root)
			}
			cd := d.Devices.Disks[len(d.Devices.Disks)-1]
			if cd.Device != "cdrom" || cd.ReadOnly == nil || cd.Source.File.File != tt.spec.ConfigDrive {
				t.Errorf("config drive = %+v, want a read-only cdrom", cd)
			}
			if len(d.Devices.Serials) != 1 || d.Devices.Serials[0].Log == nil || d.Devices.Serials[0].Log.File != tt.spec.ConsoleLog {
				t.Errorf("serial = %+v, want logged to %s", d.Devices.Serials, tt.spec.ConsoleLog)
			}
			if len(d.Devices.Graphics) != 1 || d.Devices.Graphics[0].VNC == nil || d.Devices.Graphics[0].VNC.AutoPort != "yes" ||
				d.Devices.Graphics[0].VNC.Listen != "10.0.0.5" {
				t.Errorf("graphics = %+v, want VNC autoport on 10.0.0.5", d.Devices.Graphics)
			}
			if len(d.Devices.Interfaces) != len(tt.spec.NICs) {
				t.Errorf("interfaces = %+v, want one per NIC", d.Devices.Interfaces)
			}
			tt.check(t, &d)
		})
	}
}

func TestDomainXMLRefusesEmptySpec(t *testing.T) {
	if _, err := DomainXML(DomainSpec{InstanceID: testID}); err == nil {
		t.Fatal("a domain without vCPUs or RAM was built")
	}
}

func TestParseMetadataIgnoresOthers(t *testing.T) {
	for name, s := range map[string]string{
		"nova's":     `<nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1"><nova:name>x</nova:name></nova:instance>`,
		"empty":      ``,
		"no id":      `<s:instance xmlns:s="` + MetadataNS + `"><s:name>x</s:name></s:instance>`,
		"not xml":    `<<<`,
		"wrong name": `<s:domain xmlns:s="` + MetadataNS + `" id="` + testID + `"/>`,
	} {
		if m, ok := ParseMetadata(s); ok {
			t.Errorf("%s: recognised as ours: %+v", name, m)
		}
	}
	// libvirt hands the element back with its own prefix: still ours.
	m, ok := ParseMetadata(`<stratus:instance xmlns:stratus="` + MetadataNS + `" id="` + testID + `" host="h"><stratus:name>n</stratus:name></stratus:instance>`)
	if !ok || m.InstanceID != testID || m.Host != "h" || m.Name != "n" {
		t.Errorf("libvirt's form not recognised: %+v %v", m, ok)
	}
}

func TestVNCAddress(t *testing.T) {
	live := `<domain type="qemu"><name>x</name><devices><graphics type="vnc" port="5901" autoport="yes" listen="10.0.0.5">` +
		`<listen type="address" address="10.0.0.5"/></graphics></devices></domain>`
	host, port, err := VNCAddress(live)
	if err != nil || host != "10.0.0.5" || port != 5901 {
		t.Errorf("VNCAddress = %q %d %v", host, port, err)
	}
	off := `<domain type="qemu"><name>x</name><devices><graphics type="vnc" port="-1" autoport="yes"/></devices></domain>`
	if _, _, err := VNCAddress(off); err == nil {
		t.Error("a stopped domain's VNC port (-1) was returned")
	}
}

func TestEventState(t *testing.T) {
	tests := []struct {
		event  golibvirt.DomainEventType
		detail int32
		want   virt.PowerState
		ok     bool
	}{
		{golibvirt.DomainEventStarted, 0, virt.Running, true},
		{golibvirt.DomainEventStopped, int32(golibvirt.DomainEventStoppedDestroyed), virt.Shutdown, true},
		{golibvirt.DomainEventStopped, int32(golibvirt.DomainEventStoppedShutdown), virt.Shutdown, true},
		{golibvirt.DomainEventStopped, int32(golibvirt.DomainEventStoppedCrashed), virt.Crashed, true},
		{golibvirt.DomainEventSuspended, 0, virt.Paused, true},
		{golibvirt.DomainEventResumed, 0, virt.Running, true},
		{golibvirt.DomainEventCrashed, 0, virt.Crashed, true},
		{golibvirt.DomainEventDefined, 0, "", false},
		{golibvirt.DomainEventUndefined, 0, "", false},
		{golibvirt.DomainEventShutdown, 0, "", false}, // a Stopped event follows
	}
	for _, tt := range tests {
		st, reason, ok := EventState(tt.event, tt.detail)
		if st != tt.want || ok != tt.ok || (ok && reason == "") {
			t.Errorf("EventState(%d, %d) = %q %q %v, want %q %v", tt.event, tt.detail, st, reason, ok, tt.want, tt.ok)
		}
	}
}

func TestParseURI(t *testing.T) {
	tests := []struct{ uri, socket, wantURI, wantSocket string }{
		{"", "", "qemu:///system", DefaultSocket},
		{"qemu:///system", "/s", "qemu:///system", "/s"},
		{"qemu:///system?socket=/tmp/x/libvirt-sock", "", "qemu:///system", "/tmp/x/libvirt-sock"},
		{"test:///default", "", "test:///default", DefaultSocket},
	}
	for _, tt := range tests {
		u, s, err := ParseURI(tt.uri, tt.socket)
		if err != nil || u != tt.wantURI || s != tt.wantSocket {
			t.Errorf("ParseURI(%q, %q) = %q %q %v", tt.uri, tt.socket, u, s, err)
		}
	}
	if _, _, err := ParseURI("qemu+ssh://host/system", ""); err == nil {
		t.Error("a remote URI was accepted")
	}
}

func TestParseMetadataAnswer(t *testing.T) {
	// DomainGetMetadata answers with the element stripped of its namespace.
	m, ok := parseMetadataAnswer(`<instance id="` + testID + `" host="h"><name>n</name><project>p</project><flavor/></instance>`)
	if !ok || m.InstanceID != testID || m.Host != "h" || m.ProjectID != "p" {
		t.Errorf("answer not parsed: %+v %v", m, ok)
	}
}
