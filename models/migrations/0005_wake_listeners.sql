-- Wake-up hints across processes (issue 7 §4). Every scheduler and compute
-- process registers here the UDP address where it takes hints for its
-- targets ('' = the schedulers, else a compute host's name). A process that
-- commits a job sends the target's listeners a datagram naming the target,
-- and the pool serving it claims at once instead of at its next poll. A
-- hint carries no authority — it only makes a pool look early — so the jobs
-- table stays the single source of truth, and polling the fallback. Rows are
-- refreshed while their process runs, deleted when it stops, and pruned
-- when stale (a killed process).
CREATE TABLE wake_listeners (
  owner VARCHAR(128) NOT NULL,
  target VARCHAR(255) NOT NULL,
  addr VARCHAR(255) NOT NULL,
  updated_at {{datetime}} NOT NULL,
  PRIMARY KEY (owner, target)
) {{table_opts}};
CREATE INDEX ix_wake_listeners_updated ON wake_listeners (updated_at);
