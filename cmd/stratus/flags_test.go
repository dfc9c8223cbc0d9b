package main

import (
	"flag"
	"strings"
	"testing"

	"stratus/workers/hostdrivers"
)

func TestPublicURLValidation(t *testing.T) {
	for url, ok := range map[string]bool{
		"": true, "https://cloud.example.com": true, "http://127.0.0.1:8080": true, "https://example.com/stratus": true,
		"ftp://x": false, "cloud.example.com": false, "https://": false, "https://x/?a=b": false, "https://x/#top": false,
	} {
		var f httpFlags
		f.cfg.PublicURL = url
		if err := f.validate(); (err == nil) != ok {
			t.Errorf("--public-url %q: %v", url, err)
		}
	}
}

func TestExternalInterfaceMustExist(t *testing.T) {
	if err := checkExternalInterface("linux", "lo"); err != nil {
		t.Fatalf("lo exists: %v", err)
	}
	err := checkExternalInterface("linux", "no-such-br0")
	if err == nil || !strings.Contains(err.Error(), "--external-interface no-such-br0") {
		t.Fatalf("a missing interface: %v, want an error naming the flag", err)
	}
	if err := checkExternalInterface("fake", "no-such-br0"); err != nil {
		t.Fatalf("the fake network driver has no interfaces to check: %v", err)
	}
}

// TestVirtTypeSaysWhereItCameFrom: the libvirt driver's start-up message
// names STRATUS_VIRT_TYPE when the environment chose the domain type, and
// --virt-type when the flag did (the flag wins over the environment).
func TestVirtTypeSaysWhereItCameFrom(t *testing.T) {
	t.Setenv(envName("virt-type"), "qemu")
	for _, c := range []struct {
		args       []string
		value, why string
	}{
		{nil, "qemu", "STRATUS_VIRT_TYPE"},
		{[]string{"--virt-type", "kvm"}, "kvm", "--virt-type"},
	} {
		fs := flag.NewFlagSet("dev", flag.ContinueOnError)
		var cf computeFlags
		cf.register(fs, false)
		origins, err := parseFlagsFrom(fs, "", c.args)
		if err != nil {
			t.Fatal(err)
		}
		cf.noteOrigins(origins)
		lv := cf.Drivers.Virt.Libvirt
		if lv.VirtType != c.value || lv.VirtTypeFrom != c.why {
			t.Errorf("%v with %s=qemu: virt type %q from %q, want %q from %q", c.args, envName("virt-type"), lv.VirtType, lv.VirtTypeFrom, c.value, c.why)
		}
	}
}

// TestDriverChoiceSaysWhereItCameFrom: the start-up lines of the
// hypervisor, network and volume drivers name STRATUS_DRIVER,
// STRATUS_NETWORK_DRIVER and STRATUS_VOLUME_DRIVER when the environment
// chose them, and --driver, --network-driver and --volume-driver when the
// command line did.
func TestDriverChoiceSaysWhereItCameFrom(t *testing.T) {
	for _, name := range []string{"driver", "network-driver", "volume-driver"} {
		t.Setenv(envName(name), "fake")
	}
	for _, c := range []struct {
		name                    string
		computeArgs, volumeArgs []string
		virt, net, volumes      string
	}{
		{"environment", nil, nil,
			"chosen with STRATUS_DRIVER=fake", "chosen with STRATUS_NETWORK_DRIVER=fake", "chosen with STRATUS_VOLUME_DRIVER=fake"},
		{"command line", []string{"--driver", "fake", "--network-driver", "fake"}, []string{"--volume-driver", "fake"},
			"chosen with --driver fake", "chosen with --network-driver fake", "chosen with --volume-driver fake"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var cf computeFlags
			cfs := flag.NewFlagSet("compute", flag.ContinueOnError)
			cf.register(cfs, true)
			origins, err := parseFlagsFrom(cfs, "", c.computeArgs)
			if err != nil {
				t.Fatal(err)
			}
			cf.noteOrigins(origins)
			d, err := hostdrivers.New(t.Context(), cf.Drivers, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d.Why() != c.virt || !strings.HasPrefix(d.NetworkWhy(), c.net) {
				t.Errorf("hypervisor: %q, network: %q; want %q and %q", d.Why(), d.NetworkWhy(), c.virt, c.net)
			}

			var vf volumeFlags
			vfs := flag.NewFlagSet("volume", flag.ContinueOnError)
			vf.register(vfs, true)
			if origins, err = parseFlagsFrom(vfs, "", c.volumeArgs); err != nil {
				t.Fatal(err)
			}
			vf.noteOrigins(origins)
			vb, err := hostdrivers.OpenVolumeBackend(vf.Drivers, nil)
			if err != nil {
				t.Fatal(err)
			}
			if vb.Why != c.volumes {
				t.Errorf("volumes: %q, want %q", vb.Why, c.volumes)
			}
		})
	}
}
