-- The job queue (DESIGN.md "The jobs table"). target_host '' means any
-- scheduler; otherwise only that host's compute agent claims the job.
-- The claim index orders available jobs by run_after, id within one target so
-- a claim reads the head of the index and never sorts.
CREATE TABLE jobs (
  id {{serial}},
  kind VARCHAR(64) NOT NULL,
  args {{text}} NOT NULL,
  target_host VARCHAR(255) NOT NULL DEFAULT '',
  state VARCHAR(16) NOT NULL,
  attempt INT NOT NULL DEFAULT 0,
  max_attempts INT NOT NULL DEFAULT 5,
  run_after {{datetime}} NOT NULL,
  lease_owner VARCHAR(128) NOT NULL DEFAULT '',
  lease_expires_at {{datetime}} NULL,
  last_error {{text}} NULL,
  resource_type VARCHAR(32) NOT NULL DEFAULT '',
  resource_id VARCHAR(64) NOT NULL DEFAULT '',
  created_at {{datetime}} NOT NULL,
  attempted_at {{datetime}} NULL,
  finished_at {{datetime}} NULL
) {{table_opts}};
CREATE INDEX ix_jobs_claim ON jobs (state, target_host, run_after, id);
CREATE INDEX ix_jobs_lease ON jobs (state, lease_expires_at);
CREATE INDEX ix_jobs_finished ON jobs (finished_at);
CREATE INDEX ix_jobs_resource ON jobs (resource_type, resource_id);
