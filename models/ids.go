package models

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/google/uuid"
)

// newID returns a new resource ID: a random UUID, stable for the resource's
// life and safe to show.
func newID() string { return uuid.NewString() }

// randomSecret returns n random bytes, base64url-encoded without padding.
func randomSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b)
}

// IsUUID reports whether s looks like a resource ID (so "by ID or name"
// lookups know which column to use).
func IsUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}
