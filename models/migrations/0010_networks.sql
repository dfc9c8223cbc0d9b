-- Tenant networking (Neutron's core, Linux-bridge design): networks with a
-- cloud-wide VXLAN VNI, IPv4 subnets, ports with their fixed IPs (IPAM in
-- the database: a fixed IP is a row whose primary key makes a duplicate
-- impossible), security groups and their rules, and the revision counter the
-- compute agents watch to learn that their host's networking changed.

CREATE TABLE networks (
  id CHAR(36) NOT NULL PRIMARY KEY,
  project_id CHAR(36) NOT NULL,
  name VARCHAR(255) NOT NULL DEFAULT '',
  description VARCHAR(255) NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
  shared BOOLEAN NOT NULL DEFAULT FALSE,
  router_external BOOLEAN NOT NULL DEFAULT FALSE,
  mtu INT NOT NULL,
  network_type VARCHAR(16) NOT NULL,
  segmentation_id INT NOT NULL,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL,
  CONSTRAINT uq_networks_segment UNIQUE (network_type, segmentation_id)
) {{table_opts}};
CREATE INDEX ix_networks_project ON networks (project_id, name);
CREATE INDEX ix_networks_shared ON networks (shared);

-- allocation_pools and dns_nameservers are JSON arrays.
CREATE TABLE subnets (
  id CHAR(36) NOT NULL PRIMARY KEY,
  project_id CHAR(36) NOT NULL,
  network_id CHAR(36) NOT NULL,
  name VARCHAR(255) NOT NULL DEFAULT '',
  description VARCHAR(255) NOT NULL DEFAULT '',
  ip_version INT NOT NULL,
  cidr VARCHAR(64) NOT NULL,
  gateway_ip VARCHAR(64) NOT NULL DEFAULT '',
  allocation_pools {{text}} NOT NULL,
  dns_nameservers {{text}} NOT NULL,
  enable_dhcp BOOLEAN NOT NULL DEFAULT TRUE,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL,
  CONSTRAINT fk_subnets_network FOREIGN KEY (network_id) REFERENCES networks (id)
) {{table_opts}};
CREATE INDEX ix_subnets_network ON subnets (network_id);
CREATE INDEX ix_subnets_project ON subnets (project_id);

-- binding_host_id is Neutron's binding:host_id: the compute host the port is
-- plugged on ('' while unbound). preserve_on_delete is Nova's: a port the
-- user created and handed to a launch survives the instance (unbound).
CREATE TABLE ports (
  id CHAR(36) NOT NULL PRIMARY KEY,
  project_id CHAR(36) NOT NULL,
  network_id CHAR(36) NOT NULL,
  name VARCHAR(255) NOT NULL DEFAULT '',
  description VARCHAR(255) NOT NULL DEFAULT '',
  mac_address CHAR(17) NOT NULL,
  device_id VARCHAR(255) NOT NULL DEFAULT '',
  device_owner VARCHAR(255) NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
  port_security_enabled BOOLEAN NOT NULL DEFAULT TRUE,
  binding_host_id VARCHAR(255) NOT NULL DEFAULT '',
  preserve_on_delete BOOLEAN NOT NULL DEFAULT FALSE,
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL,
  CONSTRAINT uq_ports_mac UNIQUE (network_id, mac_address),
  CONSTRAINT fk_ports_network FOREIGN KEY (network_id) REFERENCES networks (id)
) {{table_opts}};
CREATE INDEX ix_ports_project ON ports (project_id, network_id);
CREATE INDEX ix_ports_device ON ports (device_id);
CREATE INDEX ix_ports_host ON ports (binding_host_id, network_id);

-- One row per fixed IP: the primary key is the IPAM guarantee that no two
-- ports ever hold one address.
CREATE TABLE ip_allocations (
  subnet_id CHAR(36) NOT NULL,
  ip_address VARCHAR(64) NOT NULL,
  port_id CHAR(36) NOT NULL,
  network_id CHAR(36) NOT NULL,
  PRIMARY KEY (subnet_id, ip_address),
  CONSTRAINT fk_ip_allocations_port FOREIGN KEY (port_id) REFERENCES ports (id) ON DELETE CASCADE,
  CONSTRAINT fk_ip_allocations_subnet FOREIGN KEY (subnet_id) REFERENCES subnets (id)
) {{table_opts}};
CREATE INDEX ix_ip_allocations_port ON ip_allocations (port_id);

CREATE TABLE security_groups (
  id CHAR(36) NOT NULL PRIMARY KEY,
  project_id CHAR(36) NOT NULL,
  name VARCHAR(255) NOT NULL,
  description VARCHAR(255) NOT NULL DEFAULT '',
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL
) {{table_opts}};
CREATE INDEX ix_security_groups_project ON security_groups (project_id, name);

-- Neutron's default_security_group: one "default" group per project, made
-- on first use; the primary key stops two concurrent first uses making two.
CREATE TABLE default_security_groups (
  project_id CHAR(36) NOT NULL PRIMARY KEY,
  security_group_id CHAR(36) NOT NULL
) {{table_opts}};

-- protocol '' is any; port_range_* NULL is every port. fingerprint is a hash
-- of what the rule matches, unique per group: a duplicate rule is refused.
CREATE TABLE security_group_rules (
  id CHAR(36) NOT NULL PRIMARY KEY,
  project_id CHAR(36) NOT NULL,
  security_group_id CHAR(36) NOT NULL,
  direction VARCHAR(8) NOT NULL,
  ethertype VARCHAR(8) NOT NULL,
  protocol VARCHAR(16) NOT NULL DEFAULT '',
  port_range_min INT NULL,
  port_range_max INT NULL,
  remote_ip_prefix VARCHAR(64) NOT NULL DEFAULT '',
  remote_group_id VARCHAR(36) NOT NULL DEFAULT '',
  description VARCHAR(255) NOT NULL DEFAULT '',
  fingerprint CHAR(64) NOT NULL,
  created_at {{datetime}} NOT NULL,
  CONSTRAINT uq_security_group_rules UNIQUE (security_group_id, fingerprint),
  CONSTRAINT fk_security_group_rules_group FOREIGN KEY (security_group_id) REFERENCES security_groups (id) ON DELETE CASCADE
) {{table_opts}};
CREATE INDEX ix_security_group_rules_remote ON security_group_rules (remote_group_id);

CREATE TABLE port_security_groups (
  port_id CHAR(36) NOT NULL,
  security_group_id CHAR(36) NOT NULL,
  PRIMARY KEY (port_id, security_group_id),
  CONSTRAINT fk_port_security_groups_port FOREIGN KEY (port_id) REFERENCES ports (id) ON DELETE CASCADE
) {{table_opts}};
CREATE INDEX ix_port_security_groups_group ON port_security_groups (security_group_id);

-- One row: bumped by every change that some host's networking must follow
-- (ports bound or gone, rules, memberships). Agents poll it cheaply and
-- re-read their host's desired state when it moved.
CREATE TABLE network_revision (
  id INT NOT NULL PRIMARY KEY,
  revision BIGINT NOT NULL
) {{table_opts}};
INSERT INTO network_revision (id, revision) VALUES (1, 1);

-- The underlay address a host's VXLAN tunnels end on (--tunnel-address).
ALTER TABLE hosts ADD COLUMN tunnel_address VARCHAR(64) NOT NULL DEFAULT '';
