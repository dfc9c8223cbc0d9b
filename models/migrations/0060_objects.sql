-- Object storage (Swift's account, container and object model). Each project
-- is one account (AUTH_<project id>). The bytes of an object live in the
-- object backend (models/objectstore) under blob_key; a row names the blob
-- that holds the object's current bytes, so an overwrite writes a new blob
-- and switches the row to it in one transaction (a reader sees the old or
-- the new object, never half of one). Names are compared byte by byte, the
-- order Swift lists in.

-- An account's metadata (X-Account-Meta-*, the temporary URL keys); the row
-- appears with the first POST to the account.
CREATE TABLE object_accounts (
  project_id CHAR(36) NOT NULL PRIMARY KEY,
  metadata {{text}} NOT NULL,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL
) {{table_opts}};

-- Containers with their object count and bytes, kept by the same
-- transactions that add, replace and remove objects.
CREATE TABLE object_containers (
  id {{serial}},
  project_id CHAR(36) NOT NULL,
  name {{bytes256}} NOT NULL,
  object_count BIGINT NOT NULL DEFAULT 0,
  bytes_used BIGINT NOT NULL DEFAULT 0,
  read_acl {{text}} NOT NULL,
  write_acl {{text}} NOT NULL,
  metadata {{text}} NOT NULL,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL,
  CONSTRAINT uq_object_containers_name UNIQUE (project_id, name)
) {{table_opts}};

-- Objects. size_bytes and etag (MD5, hex) describe the stored blob; a
-- static large object (large = 'slo') stores its manifest there and its
-- total size and ETag in large_size and large_etag; a dynamic large object
-- has a manifest ("container/prefix", X-Object-Manifest).
CREATE TABLE objects (
  id {{serial}},
  container_id BIGINT NOT NULL,
  name {{bytes1024}} NOT NULL,
  blob_key VARCHAR(64) NOT NULL,
  size_bytes BIGINT NOT NULL,
  etag CHAR(32) NOT NULL,
  content_type VARCHAR(256) NOT NULL,
  large VARCHAR(8) NOT NULL DEFAULT '',
  large_size BIGINT NOT NULL DEFAULT 0,
  large_etag VARCHAR(34) NOT NULL DEFAULT '',
  manifest VARCHAR(1400) NOT NULL DEFAULT '',
  metadata {{text}} NOT NULL,
  delete_at {{datetime}} NULL,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL,
  CONSTRAINT uq_objects_name UNIQUE (container_id, name),
  CONSTRAINT uq_objects_blob UNIQUE (blob_key),
  CONSTRAINT fk_objects_container FOREIGN KEY (container_id) REFERENCES object_containers (id)
) {{table_opts}};
CREATE INDEX ix_objects_delete_at ON objects (delete_at);
