package main

import "testing"

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
