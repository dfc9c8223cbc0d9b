package libvirt

import (
	"encoding/xml"
	"fmt"
	"strings"

	"libvirt.org/go/libvirtxml"

	"stratus/workers/virt"
)

// MetadataNS is the namespace of the <metadata> element Stratus writes into
// every domain it defines. A domain without it is not ours and is never
// touched.
const MetadataNS = "https://stratus.invalid/xmlns/domain/1"

// NamePrefix starts every domain name Stratus defines: stratus-<uuid>.
const NamePrefix = "stratus-"

// DomainName is the libvirt name of an instance's domain.
func DomainName(instanceID string) string { return NamePrefix + instanceID }

// Metadata is what the <stratus:instance> element of a domain records.
type Metadata struct {
	XMLName    xml.Name `xml:"https://stratus.invalid/xmlns/domain/1 instance"`
	InstanceID string   `xml:"id,attr"`
	Host       string   `xml:"host,attr,omitempty"` // the compute host (agent) that owns it
	Name       string   `xml:"name"`
	ProjectID  string   `xml:"project"`
	Flavor     string   `xml:"flavor"`
}

// ParseMetadata reads our element from a domain's <metadata> content.
func ParseMetadata(s string) (Metadata, bool) { return parseMetadata(s, MetadataNS) }

// parseMetadataAnswer reads DomainGetMetadata's answer: the element alone,
// which libvirt returns without its namespace (the query named it).
func parseMetadataAnswer(s string) (Metadata, bool) { return parseMetadata(s, "") }

func parseMetadata(s, ns string) (Metadata, bool) {
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		tok, err := d.Token()
		if err != nil {
			return Metadata{}, false
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Space == ns && se.Name.Local == "instance" {
			se.Name.Space = MetadataNS // what the Metadata struct expects
			var m Metadata
			if err := d.DecodeElement(&m, &se); err != nil || m.InstanceID == "" {
				return Metadata{}, false
			}
			return m, true
		}
	}
}

// DomainSpec is everything the domain XML is built from: the instance's
// size and identity, and where its files are on this host.
type DomainSpec struct {
	InstanceID string
	Host       string
	Name       string
	ProjectID  string
	Flavor     string
	VirtType   string // kvm or qemu
	VCPUs      int
	RAMMB      int

	RootDisk      string // qcow2 overlay
	EphemeralDisk string // qcow2, "" when the flavor has none
	ConfigDrive   string // ISO9660, attached read-only as a cdrom
	BootISO       string // an ISO image booted from a cdrom, "" for disk images
	Kernel        string // three-part boot: kernel …
	Initrd        string // … ramdisk …
	Cmdline       string // … and command line
	ConsoleLog    string // the serial console's log file
	VNCListen     string // address VNC listens on (autoport)
	// Volumes are block storage volumes (virtio disks with the volume ID as
	// serial); a Boot one is the root disk, in place of RootDisk.
	Volumes []virt.VolumeDisk
	// NICs are bridged virtio interfaces on the bridges the host network
	// driver made.
	NICs []virt.NIC
}

// DomainXML builds the libvirt domain of an instance: ACPI/APIC (without
// them a TCG guest sees no virtio devices), virtio disks, a config drive on
// IDE (every kernel reads it), a serial console logged to a file through
// virtlogd (which caps and rotates it), and VNC on the host's management
// address, and per NIC a virtio interface on its network's bridge with the
// port's MAC, tap name (which the firewall chains match) and MTU.
func DomainXML(s DomainSpec) (string, error) {
	if s.InstanceID == "" || s.VCPUs <= 0 || s.RAMMB <= 0 {
		return "", fmt.Errorf("domain spec needs an instance ID, vCPUs and RAM")
	}
	virtType := s.VirtType
	if virtType == "" {
		virtType = "qemu"
	}
	meta, err := xml.Marshal(Metadata{InstanceID: s.InstanceID, Host: s.Host, Name: s.Name, ProjectID: s.ProjectID, Flavor: s.Flavor})
	if err != nil {
		return "", err
	}
	d := &libvirtxml.Domain{
		Type:        virtType,
		Name:        DomainName(s.InstanceID),
		UUID:        s.InstanceID,
		Title:       truncate(s.Name, 64),
		Description: "Stratus instance " + s.InstanceID,
		Metadata:    &libvirtxml.DomainMetadata{XML: string(meta)},
		Memory:      &libvirtxml.DomainMemory{Value: uint(s.RAMMB), Unit: "MiB"},
		VCPU:        &libvirtxml.DomainVCPU{Placement: "static", Value: uint(s.VCPUs)},
		OS: &libvirtxml.DomainOS{
			Type: &libvirtxml.DomainOSType{Type: "hvm", Arch: "x86_64"},
		},
		Features: &libvirtxml.DomainFeatureList{
			ACPI: &libvirtxml.DomainFeature{},
			APIC: &libvirtxml.DomainFeatureAPIC{},
		},
		Clock:      &libvirtxml.DomainClock{Offset: "utc"},
		OnPoweroff: "destroy",
		OnReboot:   "restart",
		OnCrash:    "destroy",
		Devices:    &libvirtxml.DomainDeviceList{},
	}
	if s.Kernel != "" {
		d.OS.Kernel, d.OS.Initrd, d.OS.Cmdline = s.Kernel, s.Initrd, s.Cmdline
	} else if s.BootISO != "" {
		d.OS.BootDevices = []libvirtxml.DomainBootDevice{{Dev: "cdrom"}, {Dev: "hd"}}
	} else {
		d.OS.BootDevices = []libvirtxml.DomainBootDevice{{Dev: "hd"}}
	}
	dev := d.Devices
	if s.RootDisk != "" {
		dev.Disks = append(dev.Disks, fileDisk("disk", s.RootDisk, "qcow2", "vda", "virtio", false))
	}
	if s.EphemeralDisk != "" {
		dev.Disks = append(dev.Disks, fileDisk("disk", s.EphemeralDisk, "qcow2", "vdb", "virtio", false))
	}
	for _, v := range s.Volumes {
		disk, err := volumeDisk(v)
		if err != nil {
			return "", err
		}
		if v.Boot {
			// The root disk comes first, as vda.
			disk.Target.Dev = "vda"
			dev.Disks = append([]libvirtxml.DomainDisk{disk}, dev.Disks...)
			continue
		}
		dev.Disks = append(dev.Disks, disk)
	}
	if s.BootISO != "" {
		dev.Disks = append(dev.Disks, fileDisk("cdrom", s.BootISO, "raw", "hdc", "ide", true))
	}
	if s.ConfigDrive != "" {
		dev.Disks = append(dev.Disks, fileDisk("cdrom", s.ConfigDrive, "raw", "hdd", "ide", true))
	}
	for _, n := range s.NICs {
		dev.Interfaces = append(dev.Interfaces, bridgeInterface(n))
	}
	port := uint(0)
	serial := libvirtxml.DomainSerial{
		Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
		Target: &libvirtxml.DomainSerialTarget{Port: &port},
	}
	if s.ConsoleLog != "" {
		serial.Log = &libvirtxml.DomainChardevLog{File: s.ConsoleLog, Append: "on"}
	}
	dev.Serials = []libvirtxml.DomainSerial{serial}
	dev.Consoles = []libvirtxml.DomainConsole{{
		Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
		Target: &libvirtxml.DomainConsoleTarget{Type: "serial", Port: &port},
	}}
	listen := s.VNCListen
	if listen == "" {
		listen = "127.0.0.1"
	}
	dev.Graphics = []libvirtxml.DomainGraphic{{VNC: &libvirtxml.DomainGraphicVNC{
		AutoPort:  "yes",
		Listen:    listen,
		Listeners: []libvirtxml.DomainGraphicListener{{Address: &libvirtxml.DomainGraphicListenerAddress{Address: listen}}},
	}}}
	dev.Videos = []libvirtxml.DomainVideo{{Model: libvirtxml.DomainVideoModel{Type: "vga"}}}
	dev.Inputs = []libvirtxml.DomainInput{{Type: "tablet", Bus: "usb"}}
	dev.MemBalloon = &libvirtxml.DomainMemBalloon{Model: "virtio"}
	return d.Marshal()
}

// bridgeInterface is Nova's LibvirtConfigGuestInterface for a Linux-bridge
// VIF: <interface type='bridge'> on brq…, target tap…, virtio.
func bridgeInterface(n virt.NIC) libvirtxml.DomainInterface {
	iface := libvirtxml.DomainInterface{
		MAC:    &libvirtxml.DomainInterfaceMAC{Address: n.MAC},
		Source: &libvirtxml.DomainInterfaceSource{Bridge: &libvirtxml.DomainInterfaceSourceBridge{Bridge: n.Bridge}},
		Target: &libvirtxml.DomainInterfaceTarget{Dev: n.Tap},
		Model:  &libvirtxml.DomainInterfaceModel{Type: "virtio"},
	}
	if n.MTU > 0 {
		iface.MTU = &libvirtxml.DomainInterfaceMTU{Size: uint(n.MTU)}
	}
	return iface
}

func fileDisk(device, path, format, target, bus string, readOnly bool) libvirtxml.DomainDisk {
	disk := libvirtxml.DomainDisk{
		Device: device,
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: format},
		Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: path}},
		Target: &libvirtxml.DomainDiskTarget{Dev: target, Bus: bus},
	}
	if readOnly {
		disk.ReadOnly = &libvirtxml.DomainDiskReadOnly{}
	}
	return disk
}

// VNCAddress reads the VNC listen address and port of a running domain
// from its live XML (autoport assigns the port at start).
func VNCAddress(domainXML string) (host string, port int, err error) {
	var d libvirtxml.Domain
	if err := d.Unmarshal(domainXML); err != nil {
		return "", 0, fmt.Errorf("parse domain XML: %w", err)
	}
	if d.Devices == nil {
		return "", 0, fmt.Errorf("domain has no devices")
	}
	for _, g := range d.Devices.Graphics {
		if g.VNC == nil || g.VNC.Port <= 0 {
			continue
		}
		host = g.VNC.Listen
		for _, l := range g.VNC.Listeners {
			if l.Address != nil && l.Address.Address != "" {
				host = l.Address.Address
			}
		}
		return host, g.VNC.Port, nil
	}
	return "", 0, fmt.Errorf("domain has no VNC port (not running?)")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
