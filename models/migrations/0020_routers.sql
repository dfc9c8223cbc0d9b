-- Neutron's L3: routers and floating IPs. A router's gateway and its
-- interfaces are ports (device_owner network:router_gateway and
-- network:router_interface, device_id the router's ID), so that their
-- addresses come from IPAM like every other; a floating IP holds its address
-- through a port of its own on the external network (network:floatingip).
-- host is the compute host the router lives on (an agent registered with an
-- external interface); it moves when that host goes down.

CREATE TABLE routers (
  id CHAR(36) NOT NULL PRIMARY KEY,
  project_id CHAR(36) NOT NULL,
  name VARCHAR(255) NOT NULL DEFAULT '',
  description VARCHAR(255) NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
  gw_network_id CHAR(36) NOT NULL DEFAULT '',
  gw_port_id CHAR(36) NOT NULL DEFAULT '',
  enable_snat BOOLEAN NOT NULL DEFAULT TRUE,
  routes {{text}} NOT NULL,
  host VARCHAR(255) NOT NULL DEFAULT '',
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL
) {{table_opts}};
CREATE INDEX ix_routers_project ON routers (project_id, name);
CREATE INDEX ix_routers_host ON routers (host);
CREATE INDEX ix_routers_gw_network ON routers (gw_network_id);

-- port_id is '' while the floating IP is not associated. The unique key on
-- the address is the second guard (after IPAM's) against handing one
-- address out twice.
CREATE TABLE floating_ips (
  id CHAR(36) NOT NULL PRIMARY KEY,
  project_id CHAR(36) NOT NULL,
  floating_network_id CHAR(36) NOT NULL,
  floating_ip_address VARCHAR(64) NOT NULL,
  floating_port_id CHAR(36) NOT NULL,
  port_id CHAR(36) NOT NULL DEFAULT '',
  fixed_ip_address VARCHAR(64) NOT NULL DEFAULT '',
  router_id CHAR(36) NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  description VARCHAR(255) NOT NULL DEFAULT '',
  created_at {{datetime}} NOT NULL,
  updated_at {{datetime}} NOT NULL,
  CONSTRAINT uq_floating_ips_address UNIQUE (floating_network_id, floating_ip_address),
  CONSTRAINT fk_floating_ips_network FOREIGN KEY (floating_network_id) REFERENCES networks (id)
) {{table_opts}};
CREATE INDEX ix_floating_ips_project ON floating_ips (project_id);
CREATE INDEX ix_floating_ips_port ON floating_ips (port_id);
CREATE INDEX ix_floating_ips_router ON floating_ips (router_id);

-- The provider interface or bridge a compute agent maps external networks
-- to (--external-interface); '' = the host cannot carry routers.
ALTER TABLE hosts ADD COLUMN external_interface VARCHAR(64) NOT NULL DEFAULT '';
