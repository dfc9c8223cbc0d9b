-- Block storage (Cinder's model): the backends volume services own, volume
-- types that map a name to a backend, volumes, their attachments to
-- instances, and snapshots.

-- One row per backend a `stratus volume --backend NAME` service owns. The
-- service reports capacity_gb and free_gb with each heartbeat; allocated_gb is what the volume
-- scheduler has placed on it (claimed with a conditional UPDATE, so several
-- API servers never overcommit it).
CREATE TABLE volume_backends (
  id CHAR(36) NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  driver VARCHAR(32) NOT NULL,
  availability_zone VARCHAR(255) NOT NULL DEFAULT 'nova',
  capacity_gb BIGINT NOT NULL DEFAULT 0,
  free_gb BIGINT NOT NULL DEFAULT 0,
  allocated_gb BIGINT NOT NULL DEFAULT 0,
  over_subscription_ratio DOUBLE NOT NULL DEFAULT 1,
  enabled BOOLEAN NOT NULL DEFAULT TRUE,
  last_heartbeat {{datetime}} NOT NULL,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL,
  CONSTRAINT uq_volume_backends_name UNIQUE (name)
) {{table_opts}};

-- backend '' lets the scheduler pick any backend.
CREATE TABLE volume_types (
  id CHAR(36) NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  description VARCHAR(255) NOT NULL DEFAULT '',
  backend VARCHAR(64) NOT NULL DEFAULT '',
  is_public BOOLEAN NOT NULL DEFAULT TRUE,
  is_default BOOLEAN NOT NULL DEFAULT FALSE,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL,
  CONSTRAINT uq_volume_types_name UNIQUE (name)
) {{table_opts}};

CREATE TABLE volume_type_access (
  volume_type_id CHAR(36) NOT NULL,
  project_id CHAR(36) NOT NULL,
  PRIMARY KEY (volume_type_id, project_id),
  CONSTRAINT fk_volume_type_access_type FOREIGN KEY (volume_type_id) REFERENCES volume_types (id) ON DELETE CASCADE
) {{table_opts}};

-- A volume row lives until its backend data is gone. connection_info is
-- where a compute host finds the data (a file path, an RBD image …), set
-- by the volume service; image_meta is Cinder's volume_image_metadata.
CREATE TABLE volumes (
  id CHAR(36) NOT NULL PRIMARY KEY,
  project_id CHAR(36) NOT NULL,
  user_id CHAR(36) NOT NULL DEFAULT '',
  name VARCHAR(255) NOT NULL DEFAULT '',
  description VARCHAR(255) NOT NULL DEFAULT '',
  size_gb INT NOT NULL,
  status VARCHAR(16) NOT NULL,
  volume_type_id CHAR(36) NOT NULL DEFAULT '',
  volume_type_name VARCHAR(64) NOT NULL DEFAULT '',
  availability_zone VARCHAR(255) NOT NULL DEFAULT '',
  backend VARCHAR(64) NOT NULL DEFAULT '',
  source_image_id CHAR(36) NOT NULL DEFAULT '',
  source_snapshot_id CHAR(36) NOT NULL DEFAULT '',
  source_volume_id CHAR(36) NOT NULL DEFAULT '',
  bootable BOOLEAN NOT NULL DEFAULT FALSE,
  image_meta {{text}} NULL,
  progress INT NOT NULL DEFAULT 0,
  connection_info {{text}} NULL,
  fault_message {{text}} NULL,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL
) {{table_opts}};
CREATE INDEX ix_volumes_project ON volumes (project_id, created_at);
CREATE INDEX ix_volumes_backend ON volumes (backend);

-- One attachment per volume (no multi-attach). boot_index 0 is an
-- instance's root disk.
CREATE TABLE volume_attachments (
  id CHAR(36) NOT NULL PRIMARY KEY,
  volume_id CHAR(36) NOT NULL,
  instance_id CHAR(36) NOT NULL,
  project_id CHAR(36) NOT NULL,
  device VARCHAR(32) NOT NULL,
  host VARCHAR(255) NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  boot_index INT NOT NULL DEFAULT -1,
  delete_on_termination BOOLEAN NOT NULL DEFAULT FALSE,
  attached_at {{datetime}} NULL,
  created_at {{datetime}} NOT NULL,
  CONSTRAINT uq_volume_attachments_volume UNIQUE (volume_id)
) {{table_opts}};
CREATE INDEX ix_volume_attachments_instance ON volume_attachments (instance_id);

CREATE TABLE volume_snapshots (
  id CHAR(36) NOT NULL PRIMARY KEY,
  project_id CHAR(36) NOT NULL,
  user_id CHAR(36) NOT NULL DEFAULT '',
  volume_id CHAR(36) NOT NULL,
  name VARCHAR(255) NOT NULL DEFAULT '',
  description VARCHAR(255) NOT NULL DEFAULT '',
  size_gb INT NOT NULL,
  status VARCHAR(16) NOT NULL,
  backend VARCHAR(64) NOT NULL DEFAULT '',
  provider_location VARCHAR(1024) NOT NULL DEFAULT '',
  fault_message {{text}} NULL,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL
) {{table_opts}};
CREATE INDEX ix_volume_snapshots_project ON volume_snapshots (project_id, created_at);
CREATE INDEX ix_volume_snapshots_volume ON volume_snapshots (volume_id);
