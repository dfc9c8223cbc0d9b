package models

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gorm.io/gorm"
)

// The image store is a directory of files named by image ID. Uploads are
// streamed to a temporary file while hashed and sniffed, then renamed into
// place, so a reader never sees half an image and memory use does not grow
// with the image's size.

func (s *Store) imagePath(id string) (string, error) {
	if s.opts.ImageDir == "" {
		return "", errors.New("no image store directory is configured")
	}
	if !IsUUID(id) {
		return "", fmt.Errorf("bad image id %q", id)
	}
	return filepath.Join(s.opts.ImageDir, id), nil
}

func (s *Store) removeImageFile(id string) error {
	p, err := s.imagePath(id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove image file: %w", err)
	}
	return nil
}

// UploadImage stores an image's bytes. Only a queued image owned by the
// caller's project can receive data. The format is detected from the bytes
// (a declared format must agree), the SHA-256 recorded, and the upload
// refused beyond MaxImageBytes. Any failure leaves the image killed with its
// partial file removed.
func (s *Store) UploadImage(ctx context.Context, c Caller, id string, r io.Reader) (Image, error) {
	if !IsUUID(id) {
		return Image{}, notFound("image %q not found", id)
	}
	path, err := s.imagePath(id)
	if err != nil {
		return Image{}, err
	}
	var im Image
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if im, err = s.ownImage(tx, c, id); err != nil {
			return err
		}
		if im.Status != ImageQueued {
			return conflict("image %q is %s: data can be uploaded only once, to a queued image", im.Name, im.Status)
		}
		return tx.Model(&Image{}).Where("id = ?", im.ID).Updates(map[string]any{"status": ImageSaving, "updated_at": s.now()}).Error
	})
	if err != nil {
		return Image{}, err
	}
	size, sum, md5sum, format, err := s.writeImageFile(path, r)
	if err == nil && im.DiskFormat != "" && im.DiskFormat != format && !(im.DiskFormat == FormatRaw && format != FormatQCOW2) {
		err = Invalidf("disk_format", "declared %s, but the data is %s", im.DiskFormat, format)
	}
	if err != nil {
		_ = os.Remove(path)
		if kerr := s.db.WithContext(context.WithoutCancel(ctx)).Model(&Image{}).Where("id = ? AND status = ?", im.ID, ImageSaving).
			Updates(map[string]any{"status": ImageKilled, "updated_at": s.now()}).Error; kerr != nil {
			s.log.Error("mark a failed upload killed", "image", im.ID, "err", kerr)
		}
		return Image{}, err
	}
	if im.DiskFormat == "" {
		im.DiskFormat = format
	}
	im.Status, im.SizeBytes, im.Checksum, im.ChecksumMD5, im.UpdatedAt = ImageActive, size, sum, md5sum, s.now()
	// Only a still-saving image becomes active: one deleted during the
	// upload stays deleted, and its file goes.
	res := s.db.WithContext(ctx).Model(&Image{}).Where("id = ? AND status = ?", im.ID, ImageSaving).Updates(map[string]any{
		"status": im.Status, "size_bytes": size, "checksum": sum, "checksum_md5": md5sum, "disk_format": im.DiskFormat, "updated_at": im.UpdatedAt,
	})
	if res.Error != nil {
		return Image{}, fmt.Errorf("activate image: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		_ = s.removeImageFile(im.ID)
		return Image{}, conflict("image %q was deleted while it was being uploaded", im.Name)
	}
	return im, nil
}

// writeImageFile streams r to path via a temporary file. It returns the
// size, the SHA-256 and MD5 (hex) and the detected format.
func (s *Store) writeImageFile(path string, r io.Reader) (int64, string, string, string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return 0, "", "", "", fmt.Errorf("create image store: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return 0, "", "", "", fmt.Errorf("create upload file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h, h5 := sha256.New(), md5.New()
	head := &headBuffer{max: sniffLength}
	limit := s.opts.MaxImageBytes
	n, err := io.Copy(io.MultiWriter(tmp, h, h5, head), io.LimitReader(r, limit+1))
	if err == nil && n > limit {
		err = errorf(ErrTooLarge, "the image is larger than the %d MiB limit", limit>>20)
	}
	if err == nil && n == 0 {
		err = Invalid("file", "the image is empty")
	}
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return 0, "", "", "", err
	}
	format, unsafe := detectFormat(head.b)
	if unsafe != "" {
		return 0, "", "", "", Invalid("file", unsafe)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, "", "", "", fmt.Errorf("store image file: %w", err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), hex.EncodeToString(h5.Sum(nil)), format, nil
}

// headBuffer keeps the first max bytes written to it.
type headBuffer struct {
	b   []byte
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// OpenImageFile opens an active image the caller may see, for download.
func (s *Store) OpenImageFile(ctx context.Context, c Caller, id string) (*os.File, Image, error) {
	im, err := s.GetImage(ctx, c, id)
	if err != nil {
		return nil, im, err
	}
	if im.Status != ImageActive {
		return nil, im, conflict("image %q is %s: it has no data to download", im.Name, im.Status)
	}
	if im.VolumeSnapshotID != "" {
		return nil, im, conflict("image %q has no data to download: it maps volume snapshot %s (launch it to boot from a volume made from that)", im.Name, im.VolumeSnapshotID)
	}
	path, err := s.imagePath(im.ID)
	if err != nil {
		return nil, im, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, im, fmt.Errorf("open image file: %w", err)
	}
	return f, im, nil
}
