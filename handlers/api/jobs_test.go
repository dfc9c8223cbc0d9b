package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"stratus/models"
	"stratus/models/storetest"
)

type echoArgs struct {
	Say string `json:"say"`
}

func (echoArgs) Kind() string { return "test.echo" }

type otherArgs struct{}

func (otherArgs) Kind() string { return "test.other" }

func TestJobsAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		admin := e.admin()
		ctx := t.Context()

		waiting, err := s.EnqueueJob(ctx, echoArgs{Say: "hello"}, models.JobOptions{ResourceType: "instance", ResourceID: "i-1"})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := s.EnqueueJob(ctx, otherArgs{}, models.JobOptions{RunAfter: time.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		// One job fails for good: claimed, then failed by its worker.
		doomed, err := s.EnqueueJob(ctx, echoArgs{Say: "boom"}, models.JobOptions{MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		claimed, err := s.ClaimJobs(ctx, "worker-1", "", 10, time.Minute)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claimed %d jobs: %v", len(claimed), err)
		}
		if err := s.FailJob(ctx, "worker-1", doomed.ID, "boom: disk full"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReleaseJobs(ctx, "worker-1", []int64{waiting.ID}); err != nil {
			t.Fatal(err)
		}

		t.Run("counts", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodGet, "/jobs/counts", admin, nil)
			want(t, r, http.StatusOK, "")
			counts := r.body["counts"].(map[string]any)
			if counts["failed"] != 1.0 || counts["available"] != 4.0 || counts["cancelled"] != 0.0 || len(counts) != 5 {
				t.Errorf("counts %v", counts)
			}
		})

		t.Run("list, filter, page", func(t *testing.T) {
			e := e.at(t)
			failed := e.do(http.MethodGet, "/jobs?state=failed", admin, nil)
			want(t, failed, http.StatusOK, "")
			jobs := failed.list("jobs")
			if len(jobs) != 1 || jobs[0]["last_error"] != "boom: disk full" || jobs[0]["kind"] != "test.echo" {
				t.Fatalf("failed jobs %s", failed.raw)
			}
			if args := jobs[0]["args"].(map[string]any); args["say"] != "boom" {
				t.Errorf("args %v", args)
			}
			others, pages := e.pageAll(admin, "/jobs?kind=test.other&limit=2", "jobs")
			if len(others) != 3 || pages != 2 {
				t.Errorf("%d test.other jobs in %d pages", len(others), pages)
			}
			r := e.do(http.MethodGet, "/jobs?state=exploded", admin, nil)
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			if r.field("state") == "" {
				t.Errorf("%s", r.raw)
			}
		})

		t.Run("get", func(t *testing.T) {
			e := e.at(t)
			r := e.do(http.MethodGet, fmt.Sprintf("/jobs/%d", waiting.ID), admin, nil)
			want(t, r, http.StatusOK, "")
			if r.body["id"] != float64(waiting.ID) || r.str("resource_id") != "i-1" {
				t.Errorf("job %s", r.raw)
			}
			want(t, e.do(http.MethodGet, "/jobs/999999", admin, nil), http.StatusNotFound, "not_found")
			want(t, e.do(http.MethodGet, "/jobs/0", admin, nil), http.StatusNotFound, "not_found")
		})

		t.Run("retry and cancel", func(t *testing.T) {
			e := e.at(t)
			id := fmt.Sprint(doomed.ID)
			want(t, e.do(http.MethodPost, "/jobs/"+id+"/cancel", admin, nil), http.StatusConflict, "conflict")
			r := e.do(http.MethodPost, "/jobs/"+id+"/retry", admin, nil)
			want(t, r, http.StatusOK, "")
			if r.str("state") != "available" {
				t.Errorf("retried job %s", r.raw)
			}
			want(t, e.do(http.MethodPost, "/jobs/"+id+"/retry", admin, nil), http.StatusConflict, "conflict")
			r = e.do(http.MethodPost, "/jobs/"+id+"/cancel", admin, nil)
			want(t, r, http.StatusOK, "")
			if r.str("state") != "cancelled" || r.body["finished_at"] == nil {
				t.Errorf("cancelled job %s", r.raw)
			}
			events, _, err := s.ListAuditEvents(ctx, models.AuditFilter{Actor: "admin", Action: models.AuditJobCancel})
			if err != nil || len(events) != 1 || events[0].TargetID != id {
				t.Errorf("cancel not audited: %+v %v", events, err)
			}
			want(t, e.do(http.MethodPost, "/jobs/999999/cancel", admin, nil), http.StatusNotFound, "not_found")
		})
	})
}
