package compute

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"stratus/models"
	"stratus/workers/virt"
)

// ImageSink takes a snapshot's data from this host into the cloud's image
// store.
type ImageSink interface {
	UploadSnapshot(ctx context.Context, imageID, secret string, data io.Reader, size int64) error
}

// HTTPImageSink uploads snapshots to the API (PUT
// /api/v1/images/{id}/snapshot-file) with the compute service account's
// token and the snapshot's own secret.
type HTTPImageSink struct {
	BaseURL string
	Token   string
	Client  *http.Client
}

// UploadSnapshot streams data to the API.
func (s HTTPImageSink) UploadSnapshot(ctx context.Context, imageID, secret string, data io.Reader, size int64) error {
	u := strings.TrimRight(s.BaseURL, "/") + "/api/v1/images/" + url.PathEscape(imageID) + "/snapshot-file"
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, data)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(models.SnapshotSecretHeader, secret)
	c := s.Client
	if c == nil {
		c = DownloadClient()
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("upload snapshot: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("upload snapshot: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// StoreImageSink writes snapshots straight into this process's image store
// (`stratus dev`, where the API and the host share a disk).
type StoreImageSink struct{ Store *models.Store }

// UploadSnapshot stores data.
func (s StoreImageSink) UploadSnapshot(ctx context.Context, imageID, secret string, data io.Reader, _ int64) error {
	_, err := s.Store.UploadSnapshot(ctx, imageID, secret, data)
	return err
}

// snapshot copies an instance's root disk (the instance is usable again as
// soon as the copy is made) and uploads the copy into the snapshot's image,
// recording the upload's progress on the image.
func (a *Agent) snapshot(ctx context.Context, job *models.Job, args models.SnapshotInstance) error {
	store := a.cfg.Store
	inst, err := store.InstanceByID(ctx, args.InstanceID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if inst.Host != a.cfg.Host || inst.TaskState != models.TaskImageSnapshot {
		// A job run twice: the copy ended; an upload it left unfinished
		// will not finish now.
		return store.FailSnapshotUpload(ctx, inst.ID, args.ImageID, "the snapshot was interrupted")
	}
	lc, ok := a.cfg.Driver.(virt.Lifecycle)
	if !ok || a.cfg.Snapshots == nil {
		return store.FinishSnapshotCopy(ctx, inst.ID, args.ImageID, fmt.Sprintf("the %s driver of host %s takes no snapshots", a.cfg.Driver.Name(), a.cfg.Host))
	}
	dir, err := os.MkdirTemp(a.cfg.SnapshotDir, "snapshot-")
	if err != nil {
		return fmt.Errorf("snapshot directory: %w", err)
	}
	defer os.RemoveAll(dir)
	file := dir + "/disk.qcow2"
	start := time.Now()
	err = lc.SnapshotDisk(ctx, inst.ID, file)
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // stopping: the job runs again
	}
	msg := ""
	if err != nil {
		msg = err.Error()
		a.log.Warn("snapshot failed", "instance", inst.ID, "err", err)
	}
	if err := store.FinishSnapshotCopy(ctx, inst.ID, args.ImageID, msg); err != nil || msg != "" {
		return err
	}
	a.log.Info("snapshot copied", "instance", inst.ID, "image", args.ImageID, "duration_ms", time.Since(start).Milliseconds())
	if err := a.uploadSnapshot(ctx, args, file); err != nil {
		// The copy goes with this run (a retry would find the instance
		// idle): the image is killed with the reason, not left saving.
		a.log.Warn("snapshot upload failed", "image", args.ImageID, "err", err)
		return store.FailSnapshotUpload(context.WithoutCancel(ctx), inst.ID, args.ImageID, err.Error())
	}
	a.log.Info("snapshot uploaded", "instance", inst.ID, "image", args.ImageID, "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// uploadSnapshot sends the copy to the image store, recording progress at
// most once a second.
func (a *Agent) uploadSnapshot(ctx context.Context, args models.SnapshotInstance, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	pr := &progressReader{r: f, total: fi.Size(), report: func(pct int) {
		if err := a.cfg.Store.SetImageProgress(ctx, args.ImageID, pct); err != nil {
			a.log.Warn("record snapshot progress", "image", args.ImageID, "err", err)
		}
	}}
	return a.cfg.Snapshots.UploadSnapshot(ctx, args.ImageID, args.UploadSecret, pr, fi.Size())
}

// progressReader reports how much of total was read, in percent, at most
// once a second (and not the final 100: the image's activation is that).
type progressReader struct {
	r      io.Reader
	total  int64
	read   int64
	last   time.Time
	report func(int)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.read += int64(n)
	if p.total > 0 && time.Since(p.last) >= time.Second {
		p.last = time.Now()
		p.report(int(p.read * 99 / p.total))
	}
	return n, err
}
