-- Instance moves between hosts (Nova's migrations table, issue 12): resize
-- and cold migration (one path; resize also changes the flavor), live
-- migration and evacuation. The row carries what a revert needs (the old
-- flavor, the source host), what the destination prepared for the source to
-- migrate to (target, a JSON document the agents exchange), and a live
-- migration's progress as the source's hypervisor reports it. The instance's
-- allocation on the source is kept until the move is confirmed or reverted:
-- during a move an instance holds one allocations row per host.
CREATE TABLE migrations (
  id CHAR(36) NOT NULL PRIMARY KEY,
  instance_id CHAR(36) NOT NULL,
  project_id CHAR(36) NOT NULL,
  migration_type VARCHAR(16) NOT NULL,
  status VARCHAR(16) NOT NULL,
  source_compute VARCHAR(255) NOT NULL DEFAULT '',
  dest_compute VARCHAR(255) NOT NULL DEFAULT '',
  requested_host VARCHAR(255) NOT NULL DEFAULT '',
  old_flavor_id VARCHAR(64) NOT NULL DEFAULT '',
  old_flavor_name VARCHAR(255) NOT NULL DEFAULT '',
  old_vcpus INT NOT NULL DEFAULT 0,
  old_ram_mb INT NOT NULL DEFAULT 0,
  old_disk_gb INT NOT NULL DEFAULT 0,
  old_ephemeral_gb INT NOT NULL DEFAULT 0,
  new_flavor_id VARCHAR(64) NOT NULL DEFAULT '',
  new_flavor_name VARCHAR(255) NOT NULL DEFAULT '',
  power_on BOOLEAN NOT NULL DEFAULT TRUE,
  block_migration BOOLEAN NOT NULL DEFAULT FALSE,
  target {{text}} NULL,
  memory_total_bytes BIGINT NOT NULL DEFAULT 0,
  memory_processed_bytes BIGINT NOT NULL DEFAULT 0,
  memory_remaining_bytes BIGINT NOT NULL DEFAULT 0,
  disk_total_bytes BIGINT NOT NULL DEFAULT 0,
  disk_processed_bytes BIGINT NOT NULL DEFAULT 0,
  disk_remaining_bytes BIGINT NOT NULL DEFAULT 0,
  downtime_ms BIGINT NOT NULL DEFAULT 0,
  error_message VARCHAR(1024) NOT NULL DEFAULT '',
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL
) {{table_opts}};
CREATE INDEX ix_migrations_instance ON migrations (instance_id, created_at);
CREATE INDEX ix_migrations_status ON migrations (status, updated_at);
