-- Compute (Nova, Placement and Glance's core): flavors, images, key pairs,
-- hosts with their inventory and usage, instances with their action log,
-- server groups and per-project quotas.

CREATE TABLE flavors (
  id CHAR(36) NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  description VARCHAR(255) NOT NULL DEFAULT '',
  vcpus INT NOT NULL,
  ram_mb INT NOT NULL,
  disk_gb INT NOT NULL,
  ephemeral_gb INT NOT NULL DEFAULT 0,
  is_public BOOLEAN NOT NULL DEFAULT TRUE,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  extra_specs {{text}} NOT NULL,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL,
  CONSTRAINT uq_flavors_name UNIQUE (name)
) {{table_opts}};

-- Projects that may use a non-public flavor.
CREATE TABLE flavor_access (
  flavor_id CHAR(36) NOT NULL,
  project_id CHAR(36) NOT NULL,
  PRIMARY KEY (flavor_id, project_id),
  CONSTRAINT fk_flavor_access_flavor FOREIGN KEY (flavor_id) REFERENCES flavors (id) ON DELETE CASCADE
) {{table_opts}};

CREATE TABLE images (
  id CHAR(36) NOT NULL PRIMARY KEY,
  project_id CHAR(36) NOT NULL,
  name VARCHAR(255) NOT NULL,
  status VARCHAR(16) NOT NULL,
  visibility VARCHAR(16) NOT NULL,
  protected BOOLEAN NOT NULL DEFAULT FALSE,
  disk_format VARCHAR(16) NOT NULL DEFAULT '',
  size_bytes BIGINT NOT NULL DEFAULT 0,
  checksum CHAR(64) NOT NULL DEFAULT '',
  min_disk_gb INT NOT NULL DEFAULT 0,
  min_ram_mb INT NOT NULL DEFAULT 0,
  properties {{text}} NOT NULL,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL
) {{table_opts}};
CREATE INDEX ix_images_project ON images (project_id, status);
CREATE INDEX ix_images_visibility ON images (visibility, status);

-- Projects an image is shared with (visibility 'shared').
CREATE TABLE image_members (
  image_id CHAR(36) NOT NULL,
  project_id CHAR(36) NOT NULL,
  PRIMARY KEY (image_id, project_id),
  CONSTRAINT fk_image_members_image FOREIGN KEY (image_id) REFERENCES images (id) ON DELETE CASCADE
) {{table_opts}};
CREATE INDEX ix_image_members_project ON image_members (project_id);

CREATE TABLE keypairs (
  id CHAR(36) NOT NULL PRIMARY KEY,
  project_id CHAR(36) NOT NULL,
  user_id CHAR(36) NOT NULL,
  name VARCHAR(64) NOT NULL,
  type VARCHAR(16) NOT NULL,
  public_key {{text}} NOT NULL,
  fingerprint VARCHAR(128) NOT NULL,
  created_at {{datetime}} NOT NULL,
  CONSTRAINT uq_keypairs_name UNIQUE (project_id, name)
) {{table_opts}};

-- Hypervisor hosts: inventory, reservations, allocation ratios and the usage
-- the scheduler claims against. used_* are changed only together with an
-- allocations row, in one transaction, by a conditional UPDATE that refuses
-- to overcommit (so any number of schedulers may race).
CREATE TABLE hosts (
  id CHAR(36) NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  availability_zone VARCHAR(64) NOT NULL DEFAULT 'nova',
  driver VARCHAR(16) NOT NULL,
  hypervisor_type VARCHAR(16) NOT NULL DEFAULT 'qemu',
  arch VARCHAR(16) NOT NULL DEFAULT 'x86_64',
  address VARCHAR(255) NOT NULL DEFAULT '',
  vcpus INT NOT NULL,
  ram_mb BIGINT NOT NULL,
  disk_gb BIGINT NOT NULL,
  reserved_vcpus INT NOT NULL DEFAULT 0,
  reserved_ram_mb BIGINT NOT NULL DEFAULT 0,
  reserved_disk_gb BIGINT NOT NULL DEFAULT 0,
  cpu_ratio DOUBLE NOT NULL DEFAULT 4.0,
  ram_ratio DOUBLE NOT NULL DEFAULT 1.0,
  disk_ratio DOUBLE NOT NULL DEFAULT 1.0,
  used_vcpus INT NOT NULL DEFAULT 0,
  used_ram_mb BIGINT NOT NULL DEFAULT 0,
  used_disk_gb BIGINT NOT NULL DEFAULT 0,
  instance_count INT NOT NULL DEFAULT 0,
  failed_builds INT NOT NULL DEFAULT 0,
  enabled BOOLEAN NOT NULL DEFAULT TRUE,
  disabled_reason VARCHAR(255) NOT NULL DEFAULT '',
  up BOOLEAN NOT NULL DEFAULT TRUE,
  last_heartbeat {{datetime}} NOT NULL,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL,
  CONSTRAINT uq_hosts_name UNIQUE (name)
) {{table_opts}};

CREATE TABLE server_groups (
  id CHAR(36) NOT NULL PRIMARY KEY,
  project_id CHAR(36) NOT NULL,
  name VARCHAR(64) NOT NULL,
  policy VARCHAR(32) NOT NULL,
  created_at {{datetime}} NOT NULL
) {{table_opts}};
CREATE INDEX ix_server_groups_project ON server_groups (project_id);

-- task_state '' is Nova's NULL (no task in progress).
CREATE TABLE instances (
  id CHAR(36) NOT NULL PRIMARY KEY,
  project_id CHAR(36) NOT NULL,
  user_id CHAR(36) NOT NULL,
  name VARCHAR(255) NOT NULL,
  flavor_id CHAR(36) NOT NULL,
  flavor_name VARCHAR(64) NOT NULL,
  vcpus INT NOT NULL,
  ram_mb INT NOT NULL,
  disk_gb INT NOT NULL,
  ephemeral_gb INT NOT NULL DEFAULT 0,
  image_id CHAR(36) NOT NULL,
  image_name VARCHAR(255) NOT NULL DEFAULT '',
  keypair_name VARCHAR(64) NOT NULL DEFAULT '',
  key_data {{text}} NULL,
  user_data {{text}} NULL,
  availability_zone VARCHAR(64) NOT NULL DEFAULT '',
  server_group_id VARCHAR(36) NOT NULL DEFAULT '',
  host VARCHAR(255) NOT NULL DEFAULT '',
  vm_state VARCHAR(16) NOT NULL,
  task_state VARCHAR(32) NOT NULL DEFAULT '',
  power_state VARCHAR(16) NOT NULL DEFAULT 'nostate',
  fault_message VARCHAR(1024) NOT NULL DEFAULT '',
  fault_at {{datetime}} NULL,
  build_attempts INT NOT NULL DEFAULT 0,
  launched_at {{datetime}} NULL,
  deleted_at {{datetime}} NULL,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL
) {{table_opts}};
CREATE INDEX ix_instances_project ON instances (project_id, deleted_at, created_at);
CREATE INDEX ix_instances_host ON instances (host, vm_state);
CREATE INDEX ix_instances_created ON instances (deleted_at, created_at);
CREATE INDEX ix_instances_building ON instances (vm_state, created_at);
CREATE INDEX ix_instances_group ON instances (server_group_id);

-- One row per resource claim of an instance on a host.
CREATE TABLE allocations (
  instance_id CHAR(36) NOT NULL,
  host_id CHAR(36) NOT NULL,
  vcpus INT NOT NULL,
  ram_mb INT NOT NULL,
  disk_gb INT NOT NULL,
  created_at {{datetime}} NOT NULL,
  PRIMARY KEY (instance_id, host_id)
) {{table_opts}};
CREATE INDEX ix_allocations_host ON allocations (host_id);

-- The instance action log (Nova's instance_actions + events, flattened).
CREATE TABLE instance_actions (
  id {{serial}},
  instance_id CHAR(36) NOT NULL,
  project_id CHAR(36) NOT NULL,
  action VARCHAR(32) NOT NULL,
  user_id VARCHAR(36) NOT NULL DEFAULT '',
  user_name VARCHAR(64) NOT NULL DEFAULT '',
  request_id VARCHAR(64) NOT NULL DEFAULT '',
  result VARCHAR(16) NOT NULL,
  message VARCHAR(1024) NOT NULL DEFAULT '',
  started_at {{datetime}} NOT NULL,
  finished_at {{datetime}} NULL
) {{table_opts}};
CREATE INDEX ix_instance_actions_instance ON instance_actions (instance_id, id);

-- Per-project quota overrides; absent rows use the configured defaults.
CREATE TABLE quotas (
  project_id CHAR(36) NOT NULL,
  resource VARCHAR(32) NOT NULL,
  hard_limit BIGINT NOT NULL,
  PRIMARY KEY (project_id, resource)
) {{table_opts}};
