package hostdrivers_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"stratus/workers/hostdrivers"
)

func TestChoice(t *testing.T) {
	ctx := context.Background()
	nowhere := "qemu:///system?socket=" + filepath.Join(t.TempDir(), "no-libvirt-sock")
	t.Run("fake hosts have the configured capacity and no image cache", func(t *testing.T) {
		d, err := hostdrivers.New(ctx, hostdrivers.Config{Virt: hostdrivers.VirtConfig{Driver: hostdrivers.Fake,
			Fake: hostdrivers.FakeConfig{VCPUs: 3, RAMMB: 4096, DiskGB: 50}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		h, err := d.Open(ctx, "h1")
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		info, err := h.Virt.HostInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h.Virt.Name() != "fake" || info.VCPUs != 3 || info.RAMMB != 4096 || info.DiskGB != 50 || h.Images != nil {
			t.Fatalf("fake host: %s %+v, images %v", h.Virt.Name(), info, h.Images)
		}
		// auto: the fake hypervisor's guests get the fake network, with NICs.
		if h.Net == nil || h.Net.Name() != "fake" || h.WithoutNICs || d.Network() != hostdrivers.Fake || !strings.Contains(d.NetworkWhy(), "fake hypervisor") {
			t.Fatalf("network of a fake host: %v without NICs %v (%s)", h.Net, h.WithoutNICs, d.NetworkWhy())
		}
	})
	t.Run("an unknown network driver is refused by name", func(t *testing.T) {
		_, err := hostdrivers.New(ctx, hostdrivers.Config{Virt: hostdrivers.VirtConfig{Driver: hostdrivers.Fake},
			Net: hostdrivers.NetConfig{Driver: "ovs"}}, nil)
		if err == nil || !strings.Contains(err.Error(), `"ovs"`) || !strings.Contains(err.Error(), "--network-driver") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("auto without a libvirtd runs the fake and says why", func(t *testing.T) {
		d, err := hostdrivers.New(ctx, hostdrivers.Config{Virt: hostdrivers.VirtConfig{Driver: hostdrivers.Auto,
			Libvirt: hostdrivers.LibvirtConfig{URI: nowhere}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Hypervisor() != hostdrivers.Fake || !strings.Contains(d.Why(), "libvirt is not reachable") {
			t.Fatalf("auto chose %s: %s", d.Hypervisor(), d.Why())
		}
	})
	t.Run("libvirt needs a source of images", func(t *testing.T) {
		_, err := hostdrivers.New(ctx, hostdrivers.Config{Virt: hostdrivers.VirtConfig{Driver: hostdrivers.Libvirt,
			Libvirt: hostdrivers.LibvirtConfig{URI: nowhere}}}, nil)
		if err == nil || !strings.Contains(err.Error(), "--api-url") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("an unknown driver is refused by name", func(t *testing.T) {
		_, err := hostdrivers.New(ctx, hostdrivers.Config{Virt: hostdrivers.VirtConfig{Driver: "xen"}}, nil)
		if err == nil || !strings.Contains(err.Error(), `"xen"`) {
			t.Fatalf("err = %v", err)
		}
	})
}
