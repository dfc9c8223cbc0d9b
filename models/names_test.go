package models_test

import (
	"strings"
	"testing"

	"stratus/models"
)

// TestNameProblem: names hold any printable text — other scripts,
// right-to-left text, emoji, spaces — but no character that is invisible
// or changes how the text around it displays.
func TestNameProblem(t *testing.T) {
	for name, want := range map[string]string{
		"web-1":                 "",
		"Ünïcødé 名前":            "",
		"ﺎﻠﻋﺮﺒﻳﺓ":               "",
		"rocket 🚀":              "",
		"no\u00a0break":         "", // Zs: a space
		"":                      "is required",
		strings.Repeat("a", 10): "",
		strings.Repeat("é", 11): "must be at most 10 characters",
		"\xff\xfe":              "must be UTF-8 text",
		"bad\u001b[31m":         "U+001B is character 4",
		"bell\u0007":            "U+0007",
		"tab\tname":             "U+0009",
		"del\u007f":             "U+007F",
		"nel\u0085":             "U+0085",
		"rlo\u202e":             "U+202E",
		"lre\u202a":             "U+202A",
		"lri\u2066":             "U+2066",
		"pdi\u2069":             "U+2069",
		"alm\u061c":             "U+061C",
		"zwsp\u200b":            "U+200B",
		"zwj\u200d":             "U+200D",
		"bom\ufeff":             "U+FEFF",
		"shy\u00ad":             "U+00AD",
		"tag\U000e0041":         "U+E0041",
		"ls\u2028":              "U+2028",
		"ps\u2029":              "U+2029",
		"pua\ue000":             "U+E000",
	} {
		got := models.NameProblem(name, 10)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("NameProblem(%q) = %q, want %q", name, got, want)
		}
	}
	if got := models.TextProblem("", 10); got != "" {
		t.Errorf("empty text: %q", got)
	}
	if got := models.TextProblem("x\u202ey", 10); !strings.Contains(got, "U+202E") {
		t.Errorf("text with an override: %q", got)
	}
}
