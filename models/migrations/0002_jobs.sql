-- The job queue (DESIGN.md "The jobs table"). target_host '' means any
-- scheduler; otherwise only that host's compute agent claims the job.
-- The claim index orders available jobs by run_after, id within one target so
-- a claim reads the head of the index and never sorts. It also serves the
-- lease rescue (state = 'running' is a short range: only leased jobs) and the
-- counts by state, so there is no index on lease_expires_at: every claim and
-- completion would have to move an entry in it (~15 % of the queue's
-- throughput on MariaDB). ix_jobs_finished bounds each prune batch.
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
CREATE INDEX ix_jobs_finished ON jobs (finished_at);
CREATE INDEX ix_jobs_resource ON jobs (resource_type, resource_id);
