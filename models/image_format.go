package models

import (
	"bytes"
	"encoding/binary"
)

// Disk formats Stratus recognises from an image's bytes. aki and ari are
// Glance's names for a kernel and a ramdisk of a three-part image.
const (
	FormatQCOW2 = "qcow2"
	FormatRaw   = "raw"
	FormatISO   = "iso"
	FormatAKI   = "aki" // Linux kernel (bzImage)
	FormatARI   = "ari" // initramfs (gzip, xz, zstd, lz4 or plain cpio)
)

// DiskFormats lists the formats an image may declare.
func DiskFormats() []string { return []string{FormatQCOW2, FormatRaw, FormatISO, FormatAKI, FormatARI} }

// sniffLength is how many leading bytes detectFormat needs (the ISO9660
// volume descriptor sits at 32 KiB + 1).
const sniffLength = 0x8006

// detectFormat names the format of an image from its first bytes, and says
// why it must be refused when it is unsafe (a qcow2 with a backing file
// would let a tenant read any file of the host: OSSN-0075).
func detectFormat(head []byte) (format string, unsafe string) {
	switch {
	case len(head) >= 16 && bytes.Equal(head[:4], []byte{'Q', 'F', 'I', 0xfb}):
		if binary.BigEndian.Uint64(head[8:16]) != 0 {
			return FormatQCOW2, "qcow2 images with a backing file are refused"
		}
		return FormatQCOW2, ""
	case len(head) >= 0x8006 && bytes.Equal(head[0x8001:0x8006], []byte("CD001")):
		return FormatISO, ""
	case len(head) >= 0x206 && bytes.Equal(head[0x202:0x206], []byte("HdrS")):
		return FormatAKI, ""
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b, // gzip
		len(head) >= 6 && bytes.Equal(head[:6], []byte{0xfd, '7', 'z', 'X', 'Z', 0}), // xz
		len(head) >= 4 && bytes.Equal(head[:4], []byte{0x28, 0xb5, 0x2f, 0xfd}),      // zstd
		len(head) >= 4 && bytes.Equal(head[:4], []byte{0x02, 0x21, 0x4c, 0x18}),      // lz4 legacy
		len(head) >= 6 && bytes.Equal(head[:6], []byte("070701")):                    // cpio newc
		return FormatARI, ""
	}
	return FormatRaw, ""
}
