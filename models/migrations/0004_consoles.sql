-- Consoles: where each running instance's VNC server listens and the tail of
-- its serial console log, as the compute agent of its host last recorded
-- them (the API servers read them here instead of reaching into the host);
-- and the single-use tokens that open a VNC console, stored hashed and bound
-- to the instance and the user who asked for them.

CREATE TABLE instance_consoles (
  instance_id CHAR(36) NOT NULL PRIMARY KEY,
  host VARCHAR(255) NOT NULL,
  vnc_host VARCHAR(255) NOT NULL DEFAULT '',
  vnc_port INT NOT NULL DEFAULT 0,
  console_log {{text}} NULL,
  log_updated_at {{datetime}} NULL,
  updated_at {{datetime}} NOT NULL
) {{table_opts}};

CREATE TABLE console_tokens (
  token_hash CHAR(64) NOT NULL PRIMARY KEY,
  instance_id CHAR(36) NOT NULL,
  user_id CHAR(36) NOT NULL,
  project_id CHAR(36) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  expires_at {{datetime}} NOT NULL,
  used_at {{datetime}} NULL,
  created_at {{datetime}} NOT NULL
) {{table_opts}};
CREATE INDEX ix_console_tokens_expires ON console_tokens (expires_at);
