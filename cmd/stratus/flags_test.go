package main

import (
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
