package main

import (
	"flag"
	"strings"
	"testing"
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
