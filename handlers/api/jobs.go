package api

import (
	"net/http"

	"stratus/models"
)

// JobList is a page of the job queue, newest first.
type JobList struct {
	Jobs []models.Job `json:"jobs"`
	Next *string      `json:"next"`
}

// JobCounts counts the queue's jobs in each state (every state is present).
type JobCounts struct {
	Counts map[models.JobState]int64 `json:"counts"`
}

type jobQuery struct {
	seqPage
	State models.JobState `query:"state" doc:"Only jobs in this state."`
	Kind  string          `query:"kind" doc:"Only jobs of this kind."`
}

// jobPath is the {id} of a job: a positive integer, else 404.
type jobPath struct {
	ID int64 `path:"id" min:"1" doc:"The job's ID."`
}

func (a *API) listJobs(r *http.Request, _ models.Caller, in jobQuery) (JobList, error) {
	jobs, next, err := a.Store.ListJobs(r.Context(), models.JobFilter{State: in.State, Kind: in.Kind, Limit: in.Limit, Marker: in.Marker})
	if err != nil {
		return JobList{}, err
	}
	return JobList{Jobs: nonNil(jobs), Next: nextSeq(r, next)}, nil
}

func (a *API) jobCounts(r *http.Request, _ models.Caller, _ none) (JobCounts, error) {
	counts, err := a.Store.JobCounts(r.Context())
	if err != nil {
		return JobCounts{}, err
	}
	return JobCounts{Counts: counts}, nil
}

func (a *API) getJob(r *http.Request, _ models.Caller, in jobPath) (models.Job, error) {
	return a.Store.GetJob(r.Context(), in.ID)
}

// retryJob makes a failed or cancelled job run again (409 in another state).
func (a *API) retryJob(r *http.Request, c models.Caller, in jobPath) (models.Job, error) {
	return a.Store.RetryJob(r.Context(), c, in.ID)
}

// cancelJob stops a job that has not finished (409 once it has).
func (a *API) cancelJob(r *http.Request, c models.Caller, in jobPath) (models.Job, error) {
	return a.Store.CancelJob(r.Context(), c, in.ID)
}
