package models_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

// newestFirst is the order a newest-first list must give rows created in
// groups, oldest group first, the rows of a group at the same instant: the
// newest group first, and within a group the larger ID first.
func newestFirst(groups [][]string) []string {
	var out []string
	for _, g := range slices.Backward(groups) {
		g = slices.Clone(g)
		slices.Sort(g)
		slices.Reverse(g)
		out = append(out, g...)
	}
	return out
}

// TestNewestFirstListsPage pages instances, volumes, snapshots and API
// tokens two at a time: newest first, rows written in the same microsecond
// ordered by ID and each listed once, and a marker the caller's list does
// not hold refused on "marker".
func TestNewestFirstListsPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		b := volumeSetup(t, s) // its instance "vm" is the oldest
		ctx := context.Background()
		src := b.available(t, "src", 1) // the oldest volume; the snapshots' source
		inst, vols, snaps, toks := [][]string{{b.inst.ID}}, [][]string{{src.ID}}, [][]string{}, [][]string{}
		start := s.Now().Add(time.Hour)
		for step, n := range []int{3, 1, 2} {
			at := start.Add(time.Duration(step) * time.Second)
			s.SetClock(func() time.Time { return at })
			created, err := s.CreateInstances(ctx, b.member, models.InstanceCreate{Name: fmt.Sprint("i", step), Flavor: "m1.nano", Image: "cirros", Count: n})
			if err != nil {
				t.Fatal(err)
			}
			var is, vs, ss, ts []string
			for i := range n {
				is = append(is, created[i].ID)
				v, err := s.CreateVolume(ctx, b.member, models.VolumeCreate{Name: fmt.Sprintf("v%d-%d", step, i), SizeGB: 1})
				if err != nil {
					t.Fatal(err)
				}
				vs = append(vs, v.ID)
				sn, err := s.CreateSnapshot(ctx, b.member, models.SnapshotCreate{VolumeID: src.ID, Name: fmt.Sprintf("s%d-%d", step, i)})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.FinishSnapshot(ctx, sn.ID, "snapshot-"+sn.ID, nil); err != nil {
					t.Fatal(err)
				}
				ss = append(ss, sn.ID)
				tok, err := s.CreateAPIToken(ctx, b.member, models.APITokenInput{Name: fmt.Sprintf("t%d-%d", step, i)})
				if err != nil {
					t.Fatal(err)
				}
				ts = append(ts, tok.Token.ID)
			}
			inst, vols, snaps, toks = append(inst, is), append(vols, vs), append(snaps, ss), append(toks, ts)
		}
		// A row of another project, which no marker may name.
		other := b.operator(t)
		im, err := s.CreateImage(ctx, other, models.ImageInput{Name: "theirs"})
		if err != nil {
			t.Fatal(err)
		}
		if im, err = s.UploadImage(ctx, other, im.ID, bytes.NewReader(make([]byte, 4096))); err != nil {
			t.Fatal(err)
		}
		foreign, err := s.CreateInstances(ctx, other, models.InstanceCreate{Name: "theirs", Flavor: "m1.nano", Image: im.ID})
		if err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name string
			list func(models.ListOptions) (models.Page[string], error)
			want []string
		}{
			{"instances", func(o models.ListOptions) (models.Page[string], error) {
				return idPage(s.ListInstances(ctx, b.member, models.InstanceFilter{ListOptions: o}))(func(i models.Instance) string { return i.ID })
			}, newestFirst(inst)},
			{"volumes", func(o models.ListOptions) (models.Page[string], error) {
				return idPage(s.ListVolumes(ctx, b.member, models.VolumeFilter{ListOptions: o}))(func(v models.Volume) string { return v.ID })
			}, newestFirst(vols)},
			{"snapshots", func(o models.ListOptions) (models.Page[string], error) {
				return idPage(s.ListSnapshots(ctx, b.member, models.SnapshotFilter{ListOptions: o}))(func(sn models.Snapshot) string { return sn.ID })
			}, newestFirst(snaps)},
			{"API tokens", func(o models.ListOptions) (models.Page[string], error) {
				return idPage(s.ListAPITokensPage(ctx, b.member, o))(func(tk models.Token) string { return tk.ID })
			}, newestFirst(toks)},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got := pageAll(t, tc.list, 2, func(id string) string { return id })
				if !slices.Equal(got, tc.want) {
					t.Errorf("paged %v,\nwant %v", got, tc.want)
				}
				for _, marker := range []string{foreign[0].ID, "00000000-0000-4000-8000-000000000000"} {
					var ve *models.ValidationError
					if _, err := tc.list(models.ListOptions{Marker: marker}); !errors.As(err, &ve) || ve.Fields["marker"] == "" {
						t.Errorf("marker %s outside the list: %v, want a 422 on marker", marker, err)
					}
				}
			})
		}
	})
}

// idPage keeps only the IDs of a page's items.
func idPage[T any](p models.Page[T], err error) func(id func(T) string) (models.Page[string], error) {
	return func(id func(T) string) (models.Page[string], error) {
		out := models.Page[string]{NextMarker: p.NextMarker}
		for _, it := range p.Items {
			out.Items = append(out.Items, id(it))
		}
		return out, err
	}
}
