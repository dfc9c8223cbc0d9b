// Package compute is the facade's Nova v2.1: servers and their actions,
// consoles and action log, flavors and their access, key pairs,
// availability zones, server groups, limits and quota sets, and for
// operators hypervisors and services — with microversions (2.1 to
// MaxVersion), Nova's status words, OS-EXT-* attributes and error shape,
// translated to Stratus' compute model.
package compute

import (
	"net/http"

	"stratus/handlers/openstack/service"
)

// Prefix is where the compute API is served (devstack's layout).
const Prefix = "/compute"

// Compute serves the Nova v2.1 API.
type Compute struct {
	service.Deps
	svc *service.Service
}

// New builds the compute service.
func New(d service.Deps) *service.Service {
	c := &Compute{Deps: d}
	c.svc = &service.Service{Deps: d, Prefix: Prefix, Shape: errorShape, Routes: c.routes(),
		Middleware: []func(http.Handler) http.Handler{c.microversion}}
	return c.svc
}

// errorShape is Nova's: the fault's name as the key.
func errorShape(status int, message string) any {
	name := map[int]string{
		400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "badMethod",
		409: "conflictingRequest", 413: "overLimit", 415: "badMediaType", 429: "overLimit", 501: "notImplemented",
		503: "serviceUnavailable",
	}[status]
	if name == "" {
		name = "computeFault"
	}
	return map[string]any{name: map[string]any{"code": status, "message": message}}
}

func (c *Compute) routes() []service.Route {
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	R := service.R
	return []service.Route{
		R(get, "/", "openstack:versions", "Compute API versions", c.versions),
		R(get, "/v2.1", "openstack:versions", "Compute v2.1 version document (microversions 2.1–"+MaxVersion.String()+")", c.version),

		R(get, "/v2.1/servers", "compute:instance:list", "List servers (id, name, links); Nova's filters and paging", c.listServers),
		R(get, "/v2.1/servers/detail", "compute:instance:list", "List servers with details", c.listServersDetail),
		R(post, "/v2.1/servers", "compute:instance:create", "Create one or more servers (202: they build in the background)", c.createServer),
		R(get, "/v2.1/servers/{id}", "compute:instance:get", "Show a server", c.getServer),
		R(put, "/v2.1/servers/{id}", "compute:instance:update", "Rename a server", c.updateServer),
		R(del, "/v2.1/servers/{id}", "compute:instance:delete", "Delete a server", c.deleteServer),
		R(post, "/v2.1/servers/{id}/action", "compute:instance:action", "Server actions: os-start, os-stop, reboot, resize, confirmResize, revertResize, migrate, os-migrateLive, evacuate, os-getConsoleOutput, os-getVNCConsole, addSecurityGroup, removeSecurityGroup", c.serverAction),
		R(get, "/v2.1/os-migrations", "compute:migration:list", "Every project's resizes, migrations and evacuations (operators)", c.listMigrations),
		R(post, "/v2.1/servers/{id}/remote-consoles", "compute:instance:console", "A noVNC console URL for the server", c.remoteConsole),
		R(get, "/v2.1/servers/{id}/os-instance-actions", "compute:instance:actions", "A server's action log", c.listInstanceActions),
		R(get, "/v2.1/servers/{id}/os-instance-actions/{request}", "compute:instance:actions", "One action of a server's log, by request ID", c.getInstanceAction),
		R(get, "/v2.1/servers/{id}/ips", "compute:instance:get", "A server's addresses by network", c.serverIPs),
		R(get, "/v2.1/servers/{id}/os-security-groups", "compute:instance:get", "A server's security groups", c.serverSecurityGroups),
		R(get, "/v2.1/servers/{id}/os-volume_attachments", "volume:attachment:list", "A server's volume attachments", c.serverVolumes),
		R(post, "/v2.1/servers/{id}/os-volume_attachments", "volume:attach", "Attach a volume to a server (live when it runs)", c.attachServerVolume),
		R(get, "/v2.1/servers/{id}/os-volume_attachments/{volume}", "volume:attachment:list", "Show one volume attachment", c.serverVolume),
		R(del, "/v2.1/servers/{id}/os-volume_attachments/{volume}", "volume:detach", "Detach a volume from a server", c.detachServerVolume),
		R(get, "/v2.1/servers/{id}/os-interface", "compute:instance:get", "A server's network interfaces", c.serverInterfaces),

		R(get, "/v2.1/os-security-groups", "network:security_group:list", "The project's security groups (proxy to the network API, before 2.36)", c.listSecurityGroups),
		R(get, "/v2.1/os-security-groups/{id}", "network:security_group:get", "A security group (proxy, before 2.36)", c.getSecurityGroup),

		R(get, "/v2.1/flavors", "compute:flavor:list", "List flavors (id, name, links)", c.listFlavors),
		R(get, "/v2.1/flavors/detail", "compute:flavor:list", "List flavors with details", c.listFlavorsDetail),
		R(post, "/v2.1/flavors", "compute:flavor:create", "Create a flavor", c.createFlavor),
		R(get, "/v2.1/flavors/{id}", "compute:flavor:get", "Show a flavor", c.getFlavor),
		R(put, "/v2.1/flavors/{id}", "compute:flavor:update", "Change a flavor's description", c.updateFlavor),
		R(del, "/v2.1/flavors/{id}", "compute:flavor:delete", "Delete a flavor", c.deleteFlavor),
		R(get, "/v2.1/flavors/{id}/os-extra_specs", "compute:flavor:get", "A flavor's extra specs", c.flavorExtraSpecs),
		R(get, "/v2.1/flavors/{id}/os-flavor-access", "compute:flavor:list_all", "Projects a private flavor is shared with", c.flavorAccess),
		R(post, "/v2.1/flavors/{id}/action", "compute:flavor:update", "addTenantAccess and removeTenantAccess", c.flavorAction),

		R(get, "/v2.1/images", "image:list", "The images proxy (before 2.36)", c.listImages),
		R(get, "/v2.1/images/detail", "image:list", "The images proxy with details (before 2.36)", c.listImagesDetail),
		R(get, "/v2.1/images/{id}", "image:get", "One image through the proxy (before 2.36)", c.getImage),

		R(get, "/v2.1/os-keypairs", "compute:keypair:list", "List key pairs", c.listKeyPairs),
		R(post, "/v2.1/os-keypairs", "compute:keypair:create", "Import or generate a key pair", c.createKeyPair),
		R(get, "/v2.1/os-keypairs/{name}", "compute:keypair:get", "Show a key pair", c.getKeyPair),
		R(del, "/v2.1/os-keypairs/{name}", "compute:keypair:delete", "Delete a key pair", c.deleteKeyPair),

		R(get, "/v2.1/os-availability-zone", "compute:availability_zone:list", "List availability zones", c.listZones),
		R(get, "/v2.1/os-availability-zone/detail", "compute:host:list", "List availability zones with their hosts", c.listZonesDetail),

		R(get, "/v2.1/os-server-groups", "compute:server_group:list", "List server groups", c.listServerGroups),
		R(post, "/v2.1/os-server-groups", "compute:server_group:create", "Create a server group", c.createServerGroup),
		R(get, "/v2.1/os-server-groups/{id}", "compute:server_group:get", "Show a server group", c.getServerGroup),
		R(del, "/v2.1/os-server-groups/{id}", "compute:server_group:delete", "Delete a server group", c.deleteServerGroup),

		R(get, "/v2.1/limits", "compute:usage", "Absolute limits and usage of your project", c.limits),
		R(get, "/v2.1/os-quota-sets/{project}", "compute:usage", "A project's quotas (yours, or any for an operator)", c.getQuotaSet),
		R(get, "/v2.1/os-quota-sets/{project}/detail", "compute:usage", "A project's quotas with usage", c.getQuotaSetDetail),
		R(get, "/v2.1/os-quota-sets/{project}/defaults", "compute:usage", "The default quotas", c.getQuotaDefaults),
		R(put, "/v2.1/os-quota-sets/{project}", "compute:quota:update", "Set a project's quotas", c.setQuotaSet),
		R(del, "/v2.1/os-quota-sets/{project}", "compute:quota:update", "Revert a project's quotas to the defaults (202)", c.deleteQuotaSet),

		R(get, "/v2.1/os-hypervisors", "compute:host:list", "List hypervisors", c.listHypervisors),
		R(get, "/v2.1/os-hypervisors/detail", "compute:host:list", "List hypervisors with details", c.listHypervisorsDetail),
		R(get, "/v2.1/os-hypervisors/statistics", "compute:host:list", "Totals over every hypervisor", c.hypervisorStatistics),
		R(get, "/v2.1/os-hypervisors/{id}", "compute:host:get", "Show a hypervisor", c.getHypervisor),
		R(get, "/v2.1/os-services", "compute:host:list", "List compute services", c.listServices),
		R(put, "/v2.1/os-services/{id}", "compute:host:update", "Enable or disable a compute service", c.updateService),
	}
}
