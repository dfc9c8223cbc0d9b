package objectstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing a range of f to disk now
// (sync_file_range, SYNC_FILE_RANGE_WRITE), without waiting: a large blob is
// then mostly on disk by the time its fsync runs, which makes the fsync
// short instead of a long wait at the end of the upload. It is only a hint;
// the fsync is what makes the blob durable.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
