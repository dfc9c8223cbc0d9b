package models

import (
	"regexp"
	"strings"
)

// A fault message is read by the resource's owner; the error behind it
// often comes from a backend or driver and names the server's files
// ("qemu-img: Could not open '/var/lib/stratus/image-cache/<id>'"). As Nova
// does, the owner reads the failure without them, and the worker that
// failed logs the full error for the operator.

// absPath matches an absolute path where one can start (the beginning, or
// after a space, quote, bracket, "=" or ","; not after ":" as in a URL, nor
// after a digit as in a CIDR) up to where it ends in an error text.
var absPath = regexp.MustCompile(`(?:^|[\s'"(\[<=,])/[^\s'"():,;\]>]*`)

// ownerText is an error text as a resource's owner reads it: each absolute
// file path becomes its last element ('/a/b/cache/abc' → 'abc'); URLs,
// CIDRs and the rest of the sentence stay as they are.
func ownerText(s string) string {
	return absPath.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.IndexByte(m, '/')
		lead, path := m[:i], m[i:]
		trimmed := strings.TrimRight(path, "/")
		first, _, _ := strings.Cut(trimmed[min(1, len(trimmed)):], "/")
		if trimmed == "" || strings.HasPrefix(path, "//") || strings.Trim(first, "0123456789") == "" {
			return m // "/", "//host", "/24": not a file
		}
		return lead + trimmed[strings.LastIndexByte(trimmed, '/')+1:]
	})
}

// faultText is reason as a fault message or action log entry: in owner
// text, cut to n bytes.
func faultText(reason string, n int) string {
	return truncate(ownerText(reason), n)
}
