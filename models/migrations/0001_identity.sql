-- Identity (Keystone's model): projects, users, role assignments, tokens,
-- web sessions and the audit log.

CREATE TABLE projects (
  id CHAR(36) NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  description VARCHAR(255) NOT NULL DEFAULT '',
  enabled BOOLEAN NOT NULL DEFAULT TRUE,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL,
  CONSTRAINT uq_projects_name UNIQUE (name)
) {{table_opts}};

CREATE TABLE users (
  id CHAR(36) NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  email VARCHAR(255) NOT NULL DEFAULT '',
  password_hash VARCHAR(255) NOT NULL,
  enabled BOOLEAN NOT NULL DEFAULT TRUE,
  failed_logins INT NOT NULL DEFAULT 0,
  locked_until {{datetime}} NULL,
  last_login_at {{datetime}} NULL,
  password_changed_at {{datetime}} NOT NULL,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL,
  CONSTRAINT uq_users_name UNIQUE (name)
) {{table_opts}};

-- project_id '' is the system scope.
CREATE TABLE role_assignments (
  id CHAR(36) NOT NULL PRIMARY KEY,
  user_id CHAR(36) NOT NULL,
  project_id VARCHAR(36) NOT NULL DEFAULT '',
  role VARCHAR(16) NOT NULL,
  created_at {{datetime}} NOT NULL,
  CONSTRAINT uq_role_assignment UNIQUE (user_id, project_id, role),
  CONSTRAINT fk_role_assignments_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) {{table_opts}};
CREATE INDEX ix_role_assignments_project ON role_assignments (project_id);

-- Bearer tokens: login tokens (kind 'login') and named API tokens (kind
-- 'api'). Only the SHA-256 of the secret is kept.
CREATE TABLE tokens (
  id CHAR(36) NOT NULL PRIMARY KEY,
  kind VARCHAR(8) NOT NULL,
  name VARCHAR(64) NOT NULL DEFAULT '',
  user_id CHAR(36) NOT NULL,
  project_id VARCHAR(36) NOT NULL DEFAULT '',
  secret_hash CHAR(64) NOT NULL,
  prefix VARCHAR(16) NOT NULL,
  expires_at {{datetime}} NOT NULL,
  last_used_at {{datetime}} NULL,
  revoked_at {{datetime}} NULL,
  created_at {{datetime}} NOT NULL,
  CONSTRAINT uq_tokens_secret UNIQUE (secret_hash),
  CONSTRAINT fk_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) {{table_opts}};
CREATE INDEX ix_tokens_user ON tokens (user_id, kind);
CREATE INDEX ix_tokens_expires ON tokens (expires_at);

-- Web sessions for scs (shared by every serve process).
CREATE TABLE sessions (
  token CHAR(43) NOT NULL PRIMARY KEY,
  data {{blob}} NOT NULL,
  expiry {{datetime}} NOT NULL
) {{table_opts}};
CREATE INDEX ix_sessions_expiry ON sessions (expiry);

CREATE TABLE audit_events (
  id {{serial}},
  at {{datetime}} NOT NULL,
  action VARCHAR(64) NOT NULL,
  outcome VARCHAR(16) NOT NULL,
  actor_id VARCHAR(36) NOT NULL DEFAULT '',
  actor_name VARCHAR(64) NOT NULL DEFAULT '',
  target_type VARCHAR(32) NOT NULL DEFAULT '',
  target_id VARCHAR(64) NOT NULL DEFAULT '',
  target_name VARCHAR(255) NOT NULL DEFAULT '',
  project_id VARCHAR(36) NOT NULL DEFAULT '',
  detail VARCHAR(1024) NOT NULL DEFAULT '',
  remote_addr VARCHAR(64) NOT NULL DEFAULT '',
  request_id VARCHAR(64) NOT NULL DEFAULT ''
) {{table_opts}};
CREATE INDEX ix_audit_events_at ON audit_events (at);
CREATE INDEX ix_audit_events_action ON audit_events (action, at);
