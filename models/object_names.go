package models

import (
	"errors"
	"strings"
)

// ErrPreconditionFailed is a conditional write whose condition does not
// hold (PUT with If-None-Match: * onto an existing object).
var ErrPreconditionFailed = errors.New("precondition failed")

// CheckContainerName refuses a container name Swift would refuse, and
// what Stratus refuses besides: control and formatting characters (as for
// every name) and the "." and ".." that tools downloading a container
// would turn into paths.
func CheckContainerName(name string) error {
	switch {
	case name == "":
		return Invalid("container", "a container name is required")
	case len(name) > MaxContainerNameBytes:
		return Invalidf("container", "container name is %d bytes long; the limit is %d", len(name), MaxContainerNameBytes)
	case strings.Contains(name, "/"):
		return Invalid("container", "container names cannot contain '/'")
	case name == "." || name == "..":
		return Invalid("container", "container name cannot be '.' or '..'")
	}
	return checkNameText("container", name)
}

// CheckObjectName refuses an object name Swift would refuse, and names
// with control or formatting characters or "." and ".." path segments (a
// client that downloads the object to a file of that name would leave its
// directory).
func CheckObjectName(name string) error {
	switch {
	case name == "":
		return Invalid("object", "an object name is required")
	case len(name) > MaxObjectNameBytes:
		return Invalidf("object", "object name is %d bytes long; the limit is %d", len(name), MaxObjectNameBytes)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "." || seg == ".." {
			return Invalid("object", "object names cannot have '.' or '..' path segments")
		}
	}
	return checkNameText("object", name)
}

// checkNameText refuses what no stored name may hold (models/names.go):
// invalid UTF-8, controls and invisible formatting characters.
func checkNameText(field, name string) error {
	pr := nameProblem(name, MaxObjectNameBytes)
	switch {
	case pr.Text == "":
		return nil
	case field == "container":
		return Invalidf(field, "container name %s", pr)
	}
	return Invalidf(field, "object name %s", pr)
}

// checkMetadata applies Swift's limits to the user metadata
// (x-<kind>-meta-*) of a metadata map after a change.
func checkMetadata(kind string, meta map[string]string) error {
	prefix := "x-" + kind + "-meta-"
	count, size := 0, 0
	for k, v := range meta {
		name, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		field := "X-" + strings.ToUpper(kind[:1]) + kind[1:] + "-Meta-" + name
		switch {
		case name == "":
			return Invalid("metadata", "a metadata name cannot be empty")
		case len(name) > MaxMetaNameLength:
			return Invalidf(field, "metadata name is %d bytes long; the limit is %d", len(name), MaxMetaNameLength)
		case len(v) > MaxMetaValueLength:
			return Invalidf(field, "metadata value is %d bytes long; the limit is %d", len(v), MaxMetaValueLength)
		}
		count++
		size += len(name) + len(v)
	}
	switch {
	case count > MaxMetaCount:
		return Invalidf("metadata", "%d metadata items; the limit is %d", count, MaxMetaCount)
	case size > MaxMetaOverallSize:
		return Invalidf("metadata", "metadata is %d bytes in all; the limit is %d", size, MaxMetaOverallSize)
	}
	return nil
}

// mergeMetadata applies a change to a metadata map: set adds or replaces
// (an empty value removes, as in Swift), remove deletes.
func mergeMetadata(old, set map[string]string, remove []string) map[string]string {
	out := make(map[string]string, len(old)+len(set))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range set {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	for _, k := range remove {
		delete(out, k)
	}
	return out
}
