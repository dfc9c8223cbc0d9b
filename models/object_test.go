package models_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// objectsBundle is a store with two projects (accounts) and a way to see
// what the object backend holds.
type objectsBundle struct {
	s    *models.Store
	p, q string // project IDs
}

func objectsSetup(t *testing.T, s *models.Store) objectsBundle {
	t.Helper()
	ctx := context.Background()
	b := objectsBundle{s: s}
	for _, name := range []string{"p", "q"} {
		pr, err := s.CreateProject(ctx, models.Caller{UserName: "test"}, models.ProjectInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if name == "p" {
			b.p = pr.ID
		} else {
			b.q = pr.ID
		}
	}
	return b
}

// blobs counts the blobs in the backend.
func (b objectsBundle) blobs(t *testing.T) int {
	t.Helper()
	n := 0
	err := b.s.Options().ObjectBackend.Walk(context.Background(), func(string, time.Time) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (b objectsBundle) container(t *testing.T, project, name string) models.Container {
	t.Helper()
	c, err := b.s.GetContainer(context.Background(), project, name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// create makes the named containers in a project.
func (b objectsBundle) create(t *testing.T, project string, containers ...string) {
	t.Helper()
	for _, c := range containers {
		if _, _, err := b.s.CreateContainer(context.Background(), project, c, models.ContainerChange{}); err != nil {
			t.Fatal(err)
		}
	}
}

func (b objectsBundle) put(t *testing.T, project, container, name, body string) models.Object {
	t.Helper()
	o, err := b.s.PutObject(context.Background(), project, container, name, models.ObjectWrite{ContentLength: int64(len(body))}, strings.NewReader(body))
	if err != nil {
		t.Fatalf("put %s/%s: %v", container, name, err)
	}
	return o
}

func (b objectsBundle) read(t *testing.T, project, container, name string) string {
	t.Helper()
	rd, err := b.s.ReadObject(context.Background(), project, container, name, models.ReadOptions{Body: true})
	if err != nil {
		t.Fatalf("read %s/%s: %v", container, name, err)
	}
	defer rd.Content.Close()
	data, err := io.ReadAll(rd.Content)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestContainers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := objectsSetup(t, s)
		ctx := context.Background()
		_, created, err := s.CreateContainer(ctx, b.p, "photos", models.ContainerChange{Set: map[string]string{"x-container-meta-color": "blue"}})
		if err != nil || !created {
			t.Fatalf("create: created=%v err=%v", created, err)
		}
		// A second PUT changes metadata and says it created nothing.
		read := ".r:*,.rlistings"
		c, created, err := s.CreateContainer(ctx, b.p, "photos", models.ContainerChange{ReadACL: &read})
		if err != nil || created {
			t.Fatalf("second create: created=%v err=%v", created, err)
		}
		if c.Metadata["x-container-meta-color"] != "blue" || !c.Public() {
			t.Errorf("metadata or ACL lost: %+v", c)
		}
		// The same name in another account is another container.
		if _, created, err := s.CreateContainer(ctx, b.q, "photos", models.ContainerChange{}); err != nil || !created {
			t.Fatalf("same name in another account: %v %v", created, err)
		}
		if _, err := s.GetContainer(ctx, b.q, "nothere"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("missing container: %v", err)
		}

		for name, want := range map[string]string{
			"":                       "required",
			strings.Repeat("c", 257): "limit is 256",
			"a/b":                    "'/'",
			"..":                     "'..'",
			"tab\there":              "control",
			"bad\xffutf8":            "UTF-8",
		} {
			_, _, err := s.CreateContainer(ctx, b.p, name, models.ContainerChange{})
			var ve *models.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(ve.Fields["container"], want) {
				t.Errorf("container %q: want a validation error mentioning %q, got %v", name, want, err)
			}
		}
		bad := "someone"
		if _, _, err := s.CreateContainer(ctx, b.p, "acl", models.ContainerChange{ReadACL: &bad}); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("malformed ACL accepted: %v", err)
		}
		huge := map[string]string{"x-container-meta-big": strings.Repeat("v", 257)}
		if _, _, err := s.CreateContainer(ctx, b.p, "meta", models.ContainerChange{Set: huge}); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("oversized metadata accepted: %v", err)
		}
		if _, err := s.GetContainer(ctx, b.p, "meta"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("a refused container was created: %v", err)
		}

		// Not empty: conflict; empty: gone.
		b.put(t, b.p, "photos", "cat.jpg", "meow")
		if err := s.DeleteContainer(ctx, b.p, "photos"); !errors.Is(err, models.ErrConflict) {
			t.Errorf("delete of a non-empty container: %v", err)
		}
		if _, err := s.DeleteObject(ctx, b.p, "photos", "cat.jpg"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteContainer(ctx, b.p, "photos"); err != nil {
			t.Errorf("delete of an empty container: %v", err)
		}
		if err := s.DeleteContainer(ctx, b.p, "photos"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
	})
}

func TestObjectPutReadOverwrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := objectsSetup(t, s)
		ctx := context.Background()
		if _, _, err := s.CreateContainer(ctx, b.p, "c", models.ContainerChange{}); err != nil {
			t.Fatal(err)
		}
		o := b.put(t, b.p, "c", "dir/hello.txt", "hello")
		if o.ETag != md5hex("hello") || o.SizeBytes != 5 || o.ContentType != "text/plain; charset=utf-8" {
			t.Errorf("stored %+v", o)
		}
		if got := b.read(t, b.p, "c", "dir/hello.txt"); got != "hello" {
			t.Errorf("read %q", got)
		}
		// Another account cannot see it, whatever the names.
		if _, err := s.ReadObject(ctx, b.q, "c", "dir/hello.txt", models.ReadOptions{}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("another account's object: %v", err)
		}

		// A reader holding the old version finishes it while an overwrite
		// commits and removes the old blob.
		old, err := s.ReadObject(ctx, b.p, "c", "dir/hello.txt", models.ReadOptions{Body: true})
		if err != nil {
			t.Fatal(err)
		}
		b.put(t, b.p, "c", "dir/hello.txt", "hello, world")
		data, _ := io.ReadAll(old.Content)
		old.Content.Close()
		if string(data) != "hello" {
			t.Errorf("the old reader read %q", data)
		}
		if got := b.read(t, b.p, "c", "dir/hello.txt"); got != "hello, world" {
			t.Errorf("after overwrite: %q", got)
		}
		c := b.container(t, b.p, "c")
		if c.ObjectCount != 1 || c.BytesUsed != 12 || b.blobs(t) != 1 {
			t.Errorf("after overwrite: count %d bytes %d blobs %d", c.ObjectCount, c.BytesUsed, b.blobs(t))
		}

		// If-None-Match: * refuses to replace.
		_, err = s.PutObject(ctx, b.p, "c", "dir/hello.txt", models.ObjectWrite{ContentLength: -1, IfNoneMatch: true}, strings.NewReader("x"))
		if !errors.Is(err, models.ErrPreconditionFailed) {
			t.Errorf("If-None-Match: %v", err)
		}
		if b.blobs(t) != 1 {
			t.Errorf("a refused upload left a blob")
		}
		if _, err := s.PutObject(ctx, b.p, "nope", "x", models.ObjectWrite{ContentLength: -1}, strings.NewReader("x")); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("put into a missing container: %v", err)
		}
	})
}

// TestObjectWritesLeaveNothingWhenRefused: a bad ETag, an oversized body, a
// bad name, over-quota and a broken upload each store nothing and leave the
// counters as they were.
func TestObjectWritesLeaveNothingWhenRefused(t *testing.T) {
	storetest.EachWithOptions(t, func(o *models.Options) { o.MaxObjectBytes = 1000 }, func(t *testing.T, s *models.Store) {
		b := objectsSetup(t, s)
		ctx := context.Background()
		if _, _, err := s.CreateContainer(ctx, b.p, "c", models.ContainerChange{}); err != nil {
			t.Fatal(err)
		}
		admin := models.Caller{UserName: "test", SystemRole: models.RoleAdmin}
		if _, err := s.SetQuotas(ctx, admin, b.p, map[string]int64{models.QuotaObjectBytes: 1500, models.QuotaObjects: 3}); err != nil {
			t.Fatal(err)
		}
		b.put(t, b.p, "c", "keep", strings.Repeat("k", 900))
		cases := []struct {
			name string
			obj  string
			w    models.ObjectWrite
			body io.Reader
			want error
		}{
			{"etag mismatch", "a", models.ObjectWrite{ETag: md5hex("other"), ContentLength: -1}, strings.NewReader("data"), models.ErrInvalid},
			{"too large, declared", "a", models.ObjectWrite{ContentLength: 1001}, strings.NewReader(strings.Repeat("x", 1001)), models.ErrTooLarge},
			{"too large, chunked", "a", models.ObjectWrite{ContentLength: -1}, strings.NewReader(strings.Repeat("x", 1001)), models.ErrTooLarge},
			{"over the byte quota", "a", models.ObjectWrite{ContentLength: -1}, strings.NewReader(strings.Repeat("x", 700)), models.ErrQuotaExceeded},
			{"name with ..", "a/../b", models.ObjectWrite{ContentLength: -1}, strings.NewReader("x"), models.ErrInvalid},
			{"name too long", strings.Repeat("n", 1025), models.ObjectWrite{ContentLength: -1}, strings.NewReader("x"), models.ErrInvalid},
			{"name with a newline", "a\nb", models.ObjectWrite{ContentLength: -1}, strings.NewReader("x"), models.ErrInvalid},
			{"expiry in the past", "a", models.ObjectWrite{ContentLength: -1, DeleteAt: ptr(time.Now().Add(-time.Hour))}, strings.NewReader("x"), models.ErrInvalid},
			{"cut short", "a", models.ObjectWrite{ContentLength: -1}, io.MultiReader(strings.NewReader("part"), errReader{}), errBroken},
			{"shorter than declared", "a", models.ObjectWrite{ContentLength: 10}, strings.NewReader("short"), models.ErrInvalid},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.PutObject(ctx, b.p, "c", tc.obj, tc.w, tc.body)
				if !errors.Is(err, tc.want) {
					t.Errorf("want %v, got %v", tc.want, err)
				}
				c := b.container(t, b.p, "c")
				if c.ObjectCount != 1 || c.BytesUsed != 900 || b.blobs(t) != 1 {
					t.Errorf("something was stored: count %d bytes %d blobs %d", c.ObjectCount, c.BytesUsed, b.blobs(t))
				}
			})
		}
		// The object quota: replacing is fine at the limit, a new object is not.
		b.put(t, b.p, "c", "two", "2")
		b.put(t, b.p, "c", "three", "3")
		b.put(t, b.p, "c", "three", "33")
		if _, err := s.PutObject(ctx, b.p, "c", "four", models.ObjectWrite{ContentLength: 1}, strings.NewReader("4")); !errors.Is(err, models.ErrQuotaExceeded) {
			t.Errorf("fourth object: %v", err)
		}
		// A container's own quota (X-Container-Meta-Quota-Count).
		if _, err := s.UpdateContainer(ctx, b.p, "c", models.ContainerChange{Set: map[string]string{"x-container-meta-quota-bytes": "903"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutObject(ctx, b.p, "c", "three", models.ObjectWrite{ContentLength: 3}, strings.NewReader("333")); !errors.Is(err, models.ErrQuotaExceeded) {
			t.Errorf("over the container's byte quota: %v", err)
		}
		lines, err := s.ProjectQuotas(ctx, b.p)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if (l.Resource == models.QuotaObjects && l.Used != 3) || (l.Resource == models.QuotaObjectBytes && l.Used != 903) {
				t.Errorf("quota line %+v", l)
			}
		}
	})
}

var errBroken = errors.New("connection reset")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func TestObjectQuotaIsRaceFree(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := objectsSetup(t, s)
		ctx := context.Background()
		if _, _, err := s.CreateContainer(ctx, b.p, "c", models.ContainerChange{}); err != nil {
			t.Fatal(err)
		}
		admin := models.Caller{UserName: "test", SystemRole: models.RoleAdmin}
		if _, err := s.SetQuotas(ctx, admin, b.p, map[string]int64{models.QuotaObjects: 10}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		stored := 0
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.PutObject(ctx, b.p, "c", fmt.Sprintf("o%02d", i), models.ObjectWrite{ContentLength: 1}, strings.NewReader("x"))
				if err == nil {
					mu.Lock()
					stored++
					mu.Unlock()
				} else if !errors.Is(err, models.ErrQuotaExceeded) {
					t.Errorf("put %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		c := b.container(t, b.p, "c")
		if stored != 10 || c.ObjectCount != 10 || b.blobs(t) != 10 {
			t.Errorf("stored %d, counted %d, blobs %d; want 10", stored, c.ObjectCount, b.blobs(t))
		}
	})
}

func TestObjectListings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := objectsSetup(t, s)
		ctx := context.Background()
		if _, _, err := s.CreateContainer(ctx, b.p, "c", models.ContainerChange{}); err != nil {
			t.Fatal(err)
		}
		names := []string{"a", "b/1", "b/2", "b/3/x", "c", "d/", "é", "z"}
		for _, n := range names {
			b.put(t, b.p, "c", n, n)
		}
		render := func(es []models.ListingEntry[models.ObjectEntry]) string {
			var out []string
			for _, e := range es {
				if e.Subdir != "" {
					out = append(out, e.Subdir+"*")
				} else {
					out = append(out, e.Item.Name)
				}
			}
			return strings.Join(out, " ")
		}
		cases := []struct {
			o    models.ListingOptions
			want string
		}{
			// Byte order, as Swift lists: "é" (0xC3 0xA9) after "z".
			{models.ListingOptions{}, "a b/1 b/2 b/3/x c d/ z é"},
			{models.ListingOptions{Delimiter: "/"}, "a b/* c d/* z é"},
			{models.ListingOptions{Prefix: "b/", Delimiter: "/"}, "b/1 b/2 b/3/*"},
			{models.ListingOptions{Prefix: "b/"}, "b/1 b/2 b/3/x"},
			{models.ListingOptions{Marker: "b/2"}, "b/3/x c d/ z é"},
			{models.ListingOptions{Marker: "b", EndMarker: "d"}, "b/1 b/2 b/3/x c"},
			{models.ListingOptions{Limit: 3}, "a b/1 b/2"},
			{models.ListingOptions{Limit: 3, Delimiter: "/"}, "a b/* c"},
			{models.ListingOptions{Reverse: true}, "é z d/ c b/3/x b/2 b/1 a"},
			{models.ListingOptions{Reverse: true, Delimiter: "/"}, "é z d/* c b/* a"},
			{models.ListingOptions{Reverse: true, Marker: "c", Limit: 2}, "b/3/x b/2"},
			{models.ListingOptions{Reverse: true, Marker: "é", EndMarker: "c"}, "z d/"},
			{models.ListingOptions{Prefix: "nothing"}, ""},
		}
		for _, tc := range cases {
			_, got, err := s.ListObjects(ctx, b.p, "c", tc.o)
			if err != nil {
				t.Fatalf("%+v: %v", tc.o, err)
			}
			if r := render(got); r != tc.want {
				t.Errorf("%+v:\n got %q\nwant %q", tc.o, r, tc.want)
			}
		}
		if _, _, err := s.ListObjects(ctx, b.p, "c", models.ListingOptions{Limit: 10001}); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("limit over 10000: %v", err)
		}

		for _, n := range []string{"logs", "logs-old", "media"} {
			if _, _, err := s.CreateContainer(ctx, b.p, n, models.ContainerChange{}); err != nil {
				t.Fatal(err)
			}
		}
		cs, err := s.ListContainers(ctx, b.p, models.ListingOptions{Prefix: "l"})
		if err != nil || len(cs) != 2 || cs[0].Item.Name != "logs" || cs[1].Item.Name != "logs-old" {
			t.Errorf("container listing: %+v %v", cs, err)
		}
		all, _ := s.ListContainers(ctx, b.p, models.ListingOptions{})
		if len(all) != 4 || all[0].Item.Name != "c" || all[0].Item.Count != int64(len(names)) {
			t.Errorf("account listing: %+v", all)
		}
	})
}

func TestObjectExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := objectsSetup(t, s)
		ctx := context.Background()
		now := time.Now()
		s.SetClock(func() time.Time { return now })
		if _, _, err := s.CreateContainer(ctx, b.p, "c", models.ContainerChange{}); err != nil {
			t.Fatal(err)
		}
		at := now.Add(time.Minute)
		if _, err := s.PutObject(ctx, b.p, "c", "brief", models.ObjectWrite{ContentLength: 3, DeleteAt: &at}, strings.NewReader("bye")); err != nil {
			t.Fatal(err)
		}
		b.put(t, b.p, "c", "stays", "hi")
		if got := b.read(t, b.p, "c", "brief"); got != "bye" {
			t.Fatalf("before expiry: %q", got)
		}
		now = now.Add(2 * time.Minute)
		if _, err := s.ReadObject(ctx, b.p, "c", "brief", models.ReadOptions{}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("an expired object is readable: %v", err)
		}
		_, listed, _ := s.ListObjects(ctx, b.p, "c", models.ListingOptions{})
		if len(listed) != 1 || listed[0].Item.Name != "stays" {
			t.Errorf("an expired object is listed: %+v", listed)
		}
		n, err := s.ReapExpiredObjects(ctx, 100)
		if err != nil || n != 1 {
			t.Fatalf("reaped %d, %v", n, err)
		}
		c := b.container(t, b.p, "c")
		if c.ObjectCount != 1 || c.BytesUsed != 2 || b.blobs(t) != 1 {
			t.Errorf("after reaping: count %d bytes %d blobs %d", c.ObjectCount, c.BytesUsed, b.blobs(t))
		}
		if n, _ := s.ReapExpiredObjects(ctx, 100); n != 0 {
			t.Errorf("reaped again: %d", n)
		}
		// A POST without X-Delete-At clears an expiry (Swift's semantics).
		at = now.Add(time.Minute)
		if _, err := s.UpdateObject(ctx, b.p, "c", "stays", models.ObjectChange{DeleteAt: &at}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateObject(ctx, b.p, "c", "stays", models.ObjectChange{Metadata: map[string]string{"x-object-meta-a": "1"}}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(2 * time.Minute)
		o, err := s.GetObject(ctx, b.p, "c", "stays")
		if err != nil || o.DeleteAt != nil || o.Metadata["x-object-meta-a"] != "1" {
			t.Errorf("after POSTs: %+v %v", o, err)
		}
	})
}

func TestStaticLargeObjects(t *testing.T) {
	storetest.EachWithOptions(t, func(o *models.Options) { o.MaxObjectBytes = 10 }, func(t *testing.T, s *models.Store) {
		b := objectsSetup(t, s)
		ctx := context.Background()
		b.create(t, b.p, "c", "c_segments")
		parts := []string{"0123456789", "abcdefghij", "XYZ"}
		var segs []models.ManifestSegment
		var etags string
		for i, p := range parts {
			o := b.put(t, b.p, "c_segments", fmt.Sprintf("big/%08d", i), p)
			etag, size := o.ETag, o.SizeBytes
			segs = append(segs, models.ManifestSegment{Path: "/c_segments/" + o.Name, ETag: &etag, SizeBytes: &size})
			etags += o.ETag
		}
		o, err := s.PutManifest(ctx, b.p, "c", "big", models.ObjectWrite{}, segs)
		if err != nil {
			t.Fatal(err)
		}
		if o.Size() != 23 || o.ETagHeader() != `"`+md5hex(etags)+`"` {
			t.Errorf("large object %d bytes, ETag %s", o.Size(), o.ETagHeader())
		}
		if got := b.read(t, b.p, "c", "big"); got != strings.Join(parts, "") {
			t.Errorf("read %q", got)
		}
		rd, err := s.ReadObject(ctx, b.p, "c", "big", models.ReadOptions{Body: true})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		if _, err := rd.Content.Seek(8, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(rd.Content, buf); err != nil || string(buf) != "89abcd" {
			t.Errorf("a range across segments: %q %v", buf, err)
		}
		rd.Content.Close()

		// A manifest of manifests.
		big, _ := s.GetObject(ctx, b.p, "c", "big")
		outerETag, outerSize := strings.Trim(big.ETagHeader(), `"`), big.Size()
		tail := b.put(t, b.p, "c_segments", "tail", "!")
		tailETag, tailSize := tail.ETag, tail.SizeBytes
		if _, err := s.PutManifest(ctx, b.p, "c", "bigger", models.ObjectWrite{}, []models.ManifestSegment{
			{Path: "c/big", ETag: &outerETag, SizeBytes: &outerSize}, {Path: "c_segments/tail", ETag: &tailETag, SizeBytes: &tailSize},
		}); err != nil {
			t.Fatal(err)
		}
		if got := b.read(t, b.p, "c", "bigger"); got != strings.Join(parts, "")+"!" {
			t.Errorf("nested: %q", got)
		}
		paths, err := s.ManifestSegmentPaths(ctx, b.p, "c", "bigger")
		if err != nil || strings.Join(paths, " ") != "/c_segments/big/00000000 /c_segments/big/00000001 /c_segments/big/00000002 /c/big /c_segments/tail" {
			t.Errorf("segment paths %v %v", paths, err)
		}

		// Bad manifests are refused with every problem named, nothing stored.
		wrong, missing := "0", "/c_segments/none"
		before := b.blobs(t)
		_, err = s.PutManifest(ctx, b.p, "c", "bad", models.ObjectWrite{}, []models.ManifestSegment{
			{Path: "/c_segments/big/00000000", ETag: &wrong}, {Path: missing}, {Path: "/c_segments/big/00000001", SizeBytes: &outerSize},
		})
		var ve *models.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(ve.Fields["manifest"], "Etag Mismatch") ||
			!strings.Contains(ve.Fields["manifest"], "404 Not Found") || !strings.Contains(ve.Fields["manifest"], "Size Mismatch") {
			t.Errorf("bad manifest: %v", err)
		}
		if b.blobs(t) != before {
			t.Errorf("a refused manifest left a blob")
		}

		// A segment changed under the manifest: reads are refused (409).
		b.put(t, b.p, "c_segments", "big/00000001", "ABCDEFGHIJ")
		if _, err := s.ReadObject(ctx, b.p, "c", "big", models.ReadOptions{Body: true}); !errors.Is(err, models.ErrConflict) {
			t.Errorf("read with a changed segment: %v", err)
		}
		// The manifest itself can still be read.
		rd, err = s.ReadObject(ctx, b.p, "c", "big", models.ReadOptions{Body: true, Manifest: true})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(rd.Content)
		rd.Content.Close()
		if !bytes.Contains(raw, []byte(`"name":"/c_segments/big/00000000"`)) {
			t.Errorf("manifest %s", raw)
		}
	})
}

func TestDynamicLargeObjectAndCopy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := objectsSetup(t, s)
		ctx := context.Background()
		for _, c := range []string{"c", "segs"} {
			if _, _, err := s.CreateContainer(ctx, b.p, c, models.ContainerChange{}); err != nil {
				t.Fatal(err)
			}
		}
		b.put(t, b.p, "segs", "f/2", "world")
		b.put(t, b.p, "segs", "f/1", "hello ")
		if _, err := s.PutObject(ctx, b.p, "c", "f", models.ObjectWrite{ContentLength: 0, Manifest: "segs/f/"}, strings.NewReader("")); err != nil {
			t.Fatal(err)
		}
		if got := b.read(t, b.p, "c", "f"); got != "hello world" {
			t.Errorf("dynamic large object: %q", got)
		}

		src := b.put(t, b.p, "c", "src", "payload")
		if _, err := s.UpdateObject(ctx, b.p, "c", "src", models.ObjectChange{Metadata: map[string]string{"x-object-meta-a": "1", "x-object-meta-b": "2"}}); err != nil {
			t.Fatal(err)
		}
		cp, from, err := s.CopyObject(ctx, models.CopySource{Project: b.p, Container: "c", Name: "src"}, b.p, "segs", "copy",
			models.ObjectWrite{Metadata: map[string]string{"x-object-meta-b": "3"}}, false)
		if err != nil {
			t.Fatal(err)
		}
		if from.ID != src.ID || cp.ETag != src.ETag || cp.Metadata["x-object-meta-a"] != "1" || cp.Metadata["x-object-meta-b"] != "3" {
			t.Errorf("copy %+v", cp)
		}
		fresh, _, err := s.CopyObject(ctx, models.CopySource{Project: b.p, Container: "c", Name: "src"}, b.q+"-nope", "segs", "copy", models.ObjectWrite{}, true)
		if !errors.Is(err, models.ErrNotFound) {
			t.Errorf("copy into a missing account's container: %+v %v", fresh, err)
		}
		// Deleting the source leaves the copy whole (they share no state).
		if _, err := s.DeleteObject(ctx, b.p, "c", "src"); err != nil {
			t.Fatal(err)
		}
		if got := b.read(t, b.p, "segs", "copy"); got != "payload" {
			t.Errorf("copy after the source went: %q", got)
		}
		// The dynamic large object copies as one plain object.
		whole, _, err := s.CopyObject(ctx, models.CopySource{Project: b.p, Container: "c", Name: "f"}, b.p, "c", "f-copy", models.ObjectWrite{}, true)
		if err != nil || whole.Large != "" || whole.ETag != md5hex("hello world") {
			t.Errorf("copy of a large object: %+v %v", whole, err)
		}
	})
}

func TestOrphanBlobSweep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := objectsSetup(t, s)
		ctx := context.Background()
		if _, _, err := s.CreateContainer(ctx, b.p, "c", models.ContainerChange{}); err != nil {
			t.Fatal(err)
		}
		b.put(t, b.p, "c", "kept", "kept")
		// A crash between writing a blob and committing its row.
		if _, err := s.Options().ObjectBackend.Put(ctx, "0123456789abcdef0123456789abcdef", strings.NewReader("orphan")); err != nil {
			t.Fatal(err)
		}
		if n, err := s.SweepOrphanBlobs(ctx, time.Hour); err != nil || n != 0 {
			t.Errorf("a young blob was swept: %d %v", n, err)
		}
		if n, err := s.SweepOrphanBlobs(ctx, -time.Minute); err != nil || n != 1 {
			t.Errorf("swept %d, %v; want the one orphan", n, err)
		}
		if got := b.read(t, b.p, "c", "kept"); got != "kept" || b.blobs(t) != 1 {
			t.Errorf("the referenced blob suffered: %q, %d blobs", got, b.blobs(t))
		}
	})
}

func TestContainerACLs(t *testing.T) {
	user := &models.Caller{UserID: "u1", UserName: "alice", ProjectID: "p1", ProjectName: "team"}
	other := &models.Caller{UserID: "u2", UserName: "bob", ProjectID: "p2", ProjectName: "else"}
	cases := []struct {
		read, write string
		caller      *models.Caller
		referer     string
		want        models.ContainerGrant
	}{
		{".r:*", "", nil, "", models.ContainerGrant{Read: true}},
		{".r:*,.rlistings", "", nil, "", models.ContainerGrant{Read: true, List: true}},
		{".r:.example.com", "", nil, "https://www.example.com/page", models.ContainerGrant{Read: true}},
		{".r:.example.com", "", nil, "https://evil.com/", models.ContainerGrant{}},
		{".r:*,.r:-evil.com", "", nil, "https://evil.com/", models.ContainerGrant{}},
		{"team:*", "", user, "", models.ContainerGrant{Read: true, List: true}},
		{"p1:u1", "p1:*", user, "", models.ContainerGrant{Read: true, List: true, Write: true}},
		{"team:*", "*:bob", other, "", models.ContainerGrant{Write: true}},
		{"team:*", "team:*", other, "", models.ContainerGrant{}},
		{"", "", user, "", models.ContainerGrant{}},
	}
	for _, tc := range cases {
		got := models.Container{ReadACL: tc.read, WriteACL: tc.write}.GrantFor(tc.caller, tc.referer)
		if got != tc.want {
			t.Errorf("read %q write %q as %v from %q: %+v, want %+v", tc.read, tc.write, tc.caller, tc.referer, got, tc.want)
		}
	}
	for _, bad := range []string{"nocolon", ".weird", ".r:", "a:b:c"} {
		if _, err := models.ParseACL(bad, false); err == nil {
			t.Errorf("ACL %q accepted", bad)
		}
	}
	if _, err := models.ParseACL(".r:*", true); err == nil {
		t.Errorf("a referrer in a write ACL was accepted")
	}
}

func TestDeleteLargeObject(t *testing.T) {
	storetest.EachWithOptions(t, func(o *models.Options) { o.MaxObjectBytes = 10 }, func(t *testing.T, s *models.Store) {
		b := objectsSetup(t, s)
		ctx := context.Background()
		b.create(t, b.p, "c", "c_segments")
		// manifest writes a static large object of the named segments.
		manifest := func(name string, segments ...string) {
			t.Helper()
			var segs []models.ManifestSegment
			for _, p := range segments {
				segs = append(segs, models.ManifestSegment{Path: p})
			}
			if _, err := s.PutManifest(ctx, b.p, "c", name, models.ObjectWrite{}, segs); err != nil {
				t.Fatal(err)
			}
		}
		b.put(t, b.p, "c_segments", "a", "0123456789")
		b.put(t, b.p, "c_segments", "b", "abc")
		b.put(t, b.p, "c_segments", "tail", "!")
		manifest("inner", "/c_segments/a", "/c_segments/b")
		manifest("outer", "/c/inner", "/c_segments/tail")
		b.put(t, b.p, "c", "plain", "x")

		if _, err := s.DeleteLargeObject(ctx, b.p, "c", "plain"); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("a plain object: %v, want invalid", err)
		}
		if _, err := s.DeleteLargeObject(ctx, b.p, "c", "missing"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("a missing object: %v, want not found", err)
		}

		// Stopping after the first delete leaves the rest, the manifest too.
		deletes, err := s.DeleteLargeObject(ctx, b.p, "c", "outer")
		if err != nil {
			t.Fatal(err)
		}
		for p, err := range deletes {
			if p != "/c_segments/a" || err != nil {
				t.Errorf("first delete %s %v", p, err)
			}
			break
		}
		if _, err := s.GetObject(ctx, b.p, "c_segments", "a"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("the first segment is still there: %v", err)
		}
		if _, err := s.GetObject(ctx, b.p, "c", "outer"); err != nil {
			t.Errorf("a stopped delete took the manifest: %v", err)
		}

		// Again to the end: the segment already gone says so, the rest go,
		// nested manifest after its segments, the manifest last.
		deletes, err = s.DeleteLargeObject(ctx, b.p, "c", "outer")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for p, err := range deletes {
			switch {
			case p == "/c_segments/a" && !errors.Is(err, models.ErrNotFound):
				t.Errorf("the segment deleted before: %v, want not found", err)
			case p != "/c_segments/a" && err != nil:
				t.Errorf("delete %s: %v", p, err)
			}
			got = append(got, p)
		}
		if want := "/c_segments/a /c_segments/b /c/inner /c_segments/tail /c/outer"; strings.Join(got, " ") != want {
			t.Errorf("deleted %v, want %s", got, want)
		}
		if n := b.blobs(t); n != 1 {
			t.Errorf("%d blobs left, want the plain object's only", n)
		}
		if c := b.container(t, b.p, "c_segments"); c.ObjectCount != 0 {
			t.Errorf("%d segments left", c.ObjectCount)
		}
	})
}
