//go:build !linux

package objectstore

import "os"

// startWriteback is a Linux hint (see writeback_linux.go); elsewhere the
// fsync alone writes the blob.
func startWriteback(*os.File, int64, int64) {}
