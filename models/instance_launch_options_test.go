package models_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// TestLaunchOptionsFollowTheLaunchRules: what the launch form offers is
// what CreateInstances accepts — kernels and ramdisks are not offered and
// not bootable, and a flavor marked over the quota is the one a launch is
// refused for, over the same resource.
func TestLaunchOptionsFollowTheLaunchRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := computeSetup(t, s)
		ctx := context.Background()
		kernel, err := s.CreateImage(ctx, b.member, models.ImageInput{Name: "vmlinuz", DiskFormat: models.FormatAKI})
		if err != nil {
			t.Fatal(err)
		}
		bzImage := make([]byte, 2048)
		copy(bzImage[0x202:], "HdrS") // what a Linux kernel image says it is
		if _, err := s.UploadImage(ctx, b.member, kernel.ID, bytes.NewReader(bzImage)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaVCPUs: 1, models.QuotaRAMMB: 1024}); err != nil {
			t.Fatal(err)
		}
		o, err := s.LaunchOptions(ctx, b.member)
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Images) != 1 || o.Images[0].ID != b.image.ID {
			t.Errorf("images offered: %v, want only the disk image", o.Images)
		}
		fits := map[string]*models.QuotaExcess{}
		for _, f := range o.Flavors {
			fits[f.Flavor.Name] = f.Excess
		}
		if fits["m1.nano"] != nil || fits["m1.tiny"] != nil {
			t.Errorf("nano and tiny fit a quota of 1 vCPU and 1 GB: %v %v", fits["m1.nano"], fits["m1.tiny"])
		}
		ex := fits["m1.small"] // 1 vCPU, 2 GB
		if ex == nil || ex.Resource != models.QuotaRAMMB || ex.Free() != 1024 {
			t.Fatalf("m1.small's excess %+v, want RAM with 1024 MB free", ex)
		}
		_, err = s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "big", Flavor: "m1.small", Image: b.image.ID})
		var me *models.Error
		if !errors.Is(err, models.ErrQuotaExceeded) || !errors.As(err, &me) || !bytes.Contains([]byte(me.Msg), []byte(models.QuotaRAMMB)) {
			t.Errorf("launching the flavor marked over the RAM quota: %v", err)
		}
		if _, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "k", Flavor: "m1.nano", Image: kernel.ID}); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("launching a kernel image: %v, want invalid", err)
		}
		if len(o.Quotas) != 3 || o.Quotas[1].Resource != models.QuotaVCPUs || o.Quotas[1].Limit != 1 {
			t.Errorf("quotas %+v", o.Quotas)
		}

		// A disk image whose kernel was deleted is refused at launch,
		// naming the kernel, rather than failing on every host.
		if _, err := s.SetQuotas(ctx, b.admin, "demo", map[string]int64{models.QuotaVCPUs: 10, models.QuotaRAMMB: 10240}); err != nil {
			t.Fatal(err)
		}
		disk, err := s.CreateImage(ctx, b.member, models.ImageInput{Name: "guest", DiskFormat: models.FormatRaw,
			Properties: map[string]string{"kernel_id": kernel.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UploadImage(ctx, b.member, disk.ID, bytes.NewReader(make([]byte, 4096))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "g", Flavor: "m1.nano", Image: disk.ID}); err != nil {
			t.Fatalf("launching a disk image with its kernel: %v", err)
		}
		if err := s.DeleteImage(ctx, b.member, kernel.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: "g2", Flavor: "m1.nano", Image: disk.ID})
		var ve *models.ValidationError
		if !errors.As(err, &ve) || ve.Fields["image"] != "its kernel image "+kernel.ID+" is deleted or not active" {
			t.Errorf("launching a disk image whose kernel is deleted: %v", err)
		}
	})
}

// TestImageRights: the rule the image intents enforce is the one RightsOf
// tells the pages.
func TestImageRights(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		nb := netSetup(t, s) // demo's project, and olga of project "other"
		b, stranger := nb.computeBundle, nb.other
		ctx := context.Background()
		queued, err := s.CreateImage(ctx, b.member, models.ImageInput{Name: "queued", Visibility: models.VisibilityShared})
		if err != nil {
			t.Fatal(err)
		}
		public, err := s.CreateImage(ctx, b.member, models.ImageInput{Name: "pub"})
		if err != nil {
			t.Fatal(err)
		}
		vis := models.VisibilityPublic
		if public, err = s.UpdateImage(ctx, b.admin, public.ID, models.ImageUpdate{Visibility: &vis}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			c    models.Caller
			im   models.Image
			want models.ImageRights
		}{
			{"owner, active", b.member, b.image, models.ImageRights{Own: true, Change: true}},
			{"owner, queued", b.member, queued, models.ImageRights{Own: true, Change: true, Upload: true}},
			{"operator, another's", b.admin, queued, models.ImageRights{Change: true, Upload: true}},
			{"another project, public", stranger, public, models.ImageRights{}},
		} {
			if got := tc.im.RightsOf(tc.c); got != tc.want {
				t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
			}
			name := "renamed"
			_, err := s.UpdateImage(ctx, tc.c, tc.im.ID, models.ImageUpdate{Name: &name})
			if tc.want.Change != (err == nil) {
				t.Errorf("%s: change allowed %t, but UpdateImage says %v", tc.name, tc.want.Change, err)
			}
			if !tc.want.Change && !errors.Is(err, models.ErrForbidden) {
				t.Errorf("%s: a visible image the caller may not change: %v, want forbidden", tc.name, err)
			}
		}
	})
}
