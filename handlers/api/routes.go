package api

import "net/http"

// routes is the API: every endpoint, its policy action and its handler. The
// router, the OpenAPI document and Routes() are all built from this table.
func (a *API) routes() []route {
	const (
		get, post, put, patch, del       = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
		ok, created, accepted, noContent = http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent
	)
	return []route{
		{get, "/openapi.json", "api:openapi", "This document (OpenAPI 3.1)", ok, publicOp(a.openAPIDocument)},

		// Authentication and the caller.
		{post, "/auth/tokens", "identity:token:issue", "Log in: exchange a username and password for a token", created, publicOp(a.issueToken)},
		{del, "/auth/tokens/current", "identity:token:revoke", "Log out: revoke the token of this request", noContent, op(a.revokeCurrentToken)},
		{get, "/me", "identity:me", "The caller: user, project, roles and usable projects", ok, op(a.getMe)},

		// The caller's named API tokens.
		{get, "/tokens", "identity:token:list", "List your API tokens", ok, op(a.listTokens)},
		{post, "/tokens", "identity:token:create", "Create an API token for your current project (the secret is shown once)", created, op(a.createToken)},
		{del, "/tokens/{id}", "identity:token:revoke", "Revoke one of your tokens", noContent, op(a.revokeToken)},

		// Identity administration (operators).
		{get, "/projects", "identity:project:list", "List projects", ok, op(a.listProjects)},
		{post, "/projects", "identity:project:create", "Create a project", created, op(a.createProject)},
		{get, "/projects/{id}", "identity:project:get", "Show a project", ok, op(a.getProject)},
		{patch, "/projects/{id}", "identity:project:update", "Change a project's description, enable or disable it", ok, op(a.updateProject)},
		{get, "/users", "identity:user:list", "List users", ok, op(a.listUsers)},
		{post, "/users", "identity:user:create", "Create a user", created, op(a.createUser)},
		{get, "/users/{id}", "identity:user:get", "Show a user", ok, op(a.getUser)},
		{patch, "/users/{id}", "identity:user:update", "Change a user: e-mail, enable/disable, password reset, unlock", ok, op(a.updateUser)},
		{get, "/role-assignments", "identity:role_assignment:list", "List role assignments", ok, op(a.listRoleAssignments)},
		{post, "/role-assignments", "identity:role_assignment:create", "Grant a role on a project or on the system", created, op(a.createRoleAssignment)},
		{del, "/role-assignments/{id}", "identity:role_assignment:delete", "Revoke a role assignment", noContent, op(a.deleteRoleAssignment)},
		{get, "/audit-events", "identity:audit:list", "List identity audit events, newest first", ok, op(a.listAuditEvents)},

		// The job queue (operators).
		{get, "/jobs", "admin:job:list", "List jobs, newest first", ok, op(a.listJobs)},
		{get, "/jobs/counts", "admin:job:list", "Count jobs by state", ok, op(a.jobCounts)},
		{get, "/jobs/{id}", "admin:job:list", "Show a job", ok, op(a.getJob)},
		{post, "/jobs/{id}/retry", "admin:job:retry", "Retry a failed or cancelled job", ok, op(a.retryJob)},
		{post, "/jobs/{id}/cancel", "admin:job:cancel", "Cancel a job that has not finished", ok, op(a.cancelJob)},

		// Flavors: everyone lists those they may use; operators manage them.
		{get, "/flavors", "compute:flavor:list", "List the flavors you may launch with, smallest first", ok, op(a.listFlavors)},
		{post, "/flavors", "compute:flavor:create", "Create a flavor", created, op(a.createFlavor)},
		{get, "/flavors/{id}", "compute:flavor:get", "Show a flavor (by ID or name)", ok, op(a.getFlavor)},
		{patch, "/flavors/{id}", "compute:flavor:update", "Change a flavor's description, visibility, disabled flag or project access", ok, op(a.updateFlavor)},
		{del, "/flavors/{id}", "compute:flavor:delete", "Delete a flavor (instances keep their size)", noContent, op(a.deleteFlavor)},

		// Images (Glance): metadata as JSON, data as application/octet-stream.
		{get, "/images", "image:list", "List the images you may see, by name", ok, op(a.listImages)},
		{post, "/images", "image:create", "Create an image record (queued); upload its data next", created, op(a.createImage)},
		{get, "/images/{id}", "image:get", "Show an image", ok, op(a.getImage)},
		{patch, "/images/{id}", "image:update", "Change an image's name, visibility, protection, minimums or properties", ok, op(a.updateImage)},
		{del, "/images/{id}", "image:delete", "Delete an image and its data (a protected image is 409)", noContent, op(a.deleteImage)},
		{put, "/images/{id}/file", "image:upload", "Upload a queued image's data (streamed; format detected, SHA-256 recorded)", ok, op(a.uploadImage)},
		{get, "/images/{id}/file", "image:download", "Download an active image's data (Range supported)", ok, op(a.downloadImage)},
		{put, "/images/{id}/snapshot-file", "image:snapshot_upload", "Compute hosts: upload an instance snapshot's data with its one-time secret (header X-Stratus-Snapshot-Secret)", ok, op(a.uploadSnapshotFile)},

		// Key pairs and server groups of the project.
		{get, "/keypairs", "compute:keypair:list", "List the project's key pairs", ok, op(a.listKeyPairs)},
		{post, "/keypairs", "compute:keypair:create", "Import a public key, or generate a key pair (the private key is shown once)", created, op(a.createKeyPair)},
		{get, "/keypairs/{id}", "compute:keypair:get", "Show a key pair (by ID or name)", ok, op(a.getKeyPair)},
		{del, "/keypairs/{id}", "compute:keypair:delete", "Delete a key pair", noContent, op(a.deleteKeyPair)},
		{get, "/server-groups", "compute:server_group:list", "List the project's server groups with their members", ok, op(a.listServerGroups)},
		{post, "/server-groups", "compute:server_group:create", "Create an affinity or anti-affinity server group", created, op(a.createServerGroup)},
		{get, "/server-groups/{id}", "compute:server_group:get", "Show a server group (by ID or name)", ok, op(a.getServerGroup)},
		{del, "/server-groups/{id}", "compute:server_group:delete", "Delete a server group (its members stay)", noContent, op(a.deleteServerGroup)},

		// Instances.
		{get, "/instances", "compute:instance:list", "List instances, newest first", ok, op(a.listInstances)},
		{post, "/instances", "compute:instance:create", "Launch instances (202: they build in the background)", accepted, op(a.createInstances)},
		{post, "/instances/bulk/actions", "compute:instance:action", "Start, stop, reboot, pause, unpause, suspend or resume several instances (202; each result says whether its instance was accepted or refused)", accepted, op(a.bulkInstanceAction)},
		{post, "/instances/bulk/delete", "compute:instance:delete", "Delete several instances (202; each result says whether its instance was accepted or refused)", accepted, op(a.bulkDeleteInstances)},
		{get, "/instances/{id}", "compute:instance:get", "Show an instance", ok, op(a.getInstance)},
		{del, "/instances/{id}", "compute:instance:delete", "Delete an instance (202 with the instance, deleting or DELETED)", accepted, op(a.deleteInstance)},
		{post, "/instances/{id}/actions", "compute:instance:action", "Act on an instance: start, stop, reboot, reboot_hard, pause, unpause, suspend, resume, snapshot {name}; resize it, confirm or revert the resize; operators: migrate, live_migrate or evacuate it (202; 409 naming the state that does not allow it)", accepted, op(a.instanceAction)},
		{get, "/instances/{id}/migrations", "compute:instance:migrations", "An instance's moves (resizes, migrations, evacuations) with their progress, newest first", ok, op(a.listInstanceMigrations)},
		{get, "/instances/{id}/actions", "compute:instance:actions", "An instance's action log, newest first", ok, op(a.listInstanceActions)},
		{get, "/instances/{id}/console-log", "compute:instance:console_log", "The tail of an instance's serial console log", ok, op(a.consoleLog)},
		{post, "/instances/{id}/remote-console", "compute:instance:console", "A single-use VNC console URL for you (valid 10 minutes)", created, op(a.createRemoteConsole)},

		{get, "/instances/{id}/security-groups", "compute:instance:get", "The security groups of an instance's ports", ok, op(a.listInstanceSecurityGroups)},
		{put, "/instances/{id}/security-groups", "compute:instance:security_groups", "Set the security groups of an instance's ports (applied on its host within seconds)", ok, op(a.setInstanceSecurityGroups)},

		// Networking (Neutron's resources and field names).
		{get, "/networks", "network:network:list", "List the networks you may use (the project's and shared ones), by name", ok, op(a.listNetworks)},
		{post, "/networks", "network:network:create", "Create a network (a VXLAN segment of its own; shared and router:external are for operators)", created, op(a.createNetwork)},
		{get, "/networks/{id}", "network:network:get", "Show a network (by ID or name)", ok, op(a.getNetwork)},
		{patch, "/networks/{id}", "network:network:update", "Rename a network, set its admin state, or (operators) share it", ok, op(a.updateNetwork)},
		{del, "/networks/{id}", "network:network:delete", "Delete a network and its subnets (409 while ports use it)", noContent, op(a.deleteNetwork)},
		{get, "/subnets", "network:subnet:list", "List the subnets of the networks you may use", ok, op(a.listSubnets)},
		{post, "/subnets", "network:subnet:create", "Create an IPv4 subnet on a network (gateway_ip null for none)", created, op(a.createSubnet)},
		{get, "/subnets/{id}", "network:subnet:get", "Show a subnet", ok, op(a.getSubnet)},
		{patch, "/subnets/{id}", "network:subnet:update", "Rename a subnet, change its DNS servers or DHCP", ok, op(a.updateSubnet)},
		{del, "/subnets/{id}", "network:subnet:delete", "Delete a subnet (409 while ports hold addresses on it)", noContent, op(a.deleteSubnet)},
		{get, "/ports", "network:port:list", "List the project's ports", ok, op(a.listPorts)},
		{post, "/ports", "network:port:create", "Create a port (addresses from IPAM or fixed_ips; 409 when the subnet is full)", created, op(a.createPort)},
		{get, "/ports/{id}", "network:port:get", "Show a port", ok, op(a.getPort)},
		{patch, "/ports/{id}", "network:port:update", "Change a port's name, security groups or port security", ok, op(a.updatePort)},
		{del, "/ports/{id}", "network:port:delete", "Delete a port and free its addresses (409 while an instance uses it)", noContent, op(a.deletePort)},
		{get, "/routers", "network:router:list", "List the project's routers, by name", ok, op(a.listRouters)},
		{post, "/routers", "network:router:create", "Create a router, with a gateway on an external network if external_gateway_info names one", created, op(a.createRouter)},
		{get, "/routers/{id}", "network:router:get", "Show a router (by ID or name)", ok, op(a.getRouter)},
		{patch, "/routers/{id}", "network:router:update", "Rename a router, set or clear its gateway (null), or replace its routes", ok, op(a.updateRouter)},
		{del, "/routers/{id}", "network:router:delete", "Delete a router (409 while it has interfaces)", noContent, op(a.deleteRouter)},
		{put, "/routers/{id}/add_router_interface", "network:router:add_router_interface", "Attach a subnet (the router takes its gateway IP) or a port", ok, op(a.addRouterInterface)},
		{put, "/routers/{id}/remove_router_interface", "network:router:remove_router_interface", "Detach a subnet or port (409 while floating IPs use it)", ok, op(a.removeRouterInterface)},
		{get, "/floating-ips", "network:floatingip:list", "List the project's floating IPs", ok, op(a.listFloatingIPs)},
		{post, "/floating-ips", "network:floatingip:create", "Allocate a floating IP from an external network (associated at once with port_id)", created, op(a.createFloatingIP)},
		{get, "/floating-ips/{id}", "network:floatingip:get", "Show a floating IP (by ID or address)", ok, op(a.getFloatingIP)},
		{patch, "/floating-ips/{id}", "network:floatingip:update", "Associate a floating IP with a port, move it, or disassociate it (port_id null)", ok, op(a.updateFloatingIP)},
		{del, "/floating-ips/{id}", "network:floatingip:delete", "Release a floating IP", noContent, op(a.deleteFloatingIP)},
		{get, "/security-groups", "network:security_group:list", "List the project's security groups with their rules (default made on first use)", ok, op(a.listSecurityGroups)},
		{post, "/security-groups", "network:security_group:create", "Create a security group (all egress allowed, no ingress)", created, op(a.createSecurityGroup)},
		{get, "/security-groups/{id}", "network:security_group:get", "Show a security group (by ID or name) with its rules", ok, op(a.getSecurityGroup)},
		{patch, "/security-groups/{id}", "network:security_group:update", "Rename a security group", ok, op(a.updateSecurityGroup)},
		{del, "/security-groups/{id}", "network:security_group:delete", "Delete a security group no port uses", noContent, op(a.deleteSecurityGroup)},
		{get, "/security-group-rules", "network:security_group_rule:list", "List the project's security group rules", ok, op(a.listSecurityGroupRules)},
		{post, "/security-group-rules", "network:security_group_rule:create", "Allow traffic into or out of a group's ports (409 for a duplicate)", created, op(a.createSecurityGroupRule)},
		{get, "/security-group-rules/{id}", "network:security_group_rule:get", "Show a security group rule", ok, op(a.getSecurityGroupRule)},
		{del, "/security-group-rules/{id}", "network:security_group_rule:delete", "Delete a security group rule", noContent, op(a.deleteSecurityGroupRule)},

		// Block storage (Cinder): volumes, their attachments through the
		// instance (Nova's way), snapshots, types and backends.
		{get, "/volumes", "volume:list", "List the project's volumes with their attachments, newest first", ok, op(a.listVolumes)},
		{post, "/volumes", "volume:create", "Create a volume: blank, or from an image, a snapshot or another volume (202: poll until available)", accepted, op(a.createVolume)},
		{get, "/volumes/{id}", "volume:get", "Show a volume", ok, op(a.getVolume)},
		{patch, "/volumes/{id}", "volume:update", "Rename a volume or change its description", ok, op(a.updateVolume)},
		{del, "/volumes/{id}", "volume:delete", "Delete a volume (409 while attached or with snapshots)", accepted, op(a.deleteVolume)},
		{post, "/volumes/{id}/actions", "volume:extend", "Extend a volume, also while in use (202)", accepted, op(a.volumeAction)},
		{get, "/instances/{id}/volume-attachments", "volume:attachment:list", "An instance's volumes", ok, op(a.listVolumeAttachments)},
		{post, "/instances/{id}/volume-attachments", "volume:attach", "Attach a volume to an instance (202; live when it runs)", accepted, op(a.attachVolume)},
		{del, "/instances/{id}/volume-attachments/{volume_id}", "volume:detach", "Detach a volume (202; operators may force)", accepted, op(a.detachVolume)},
		{get, "/volume-snapshots", "volume:snapshot:list", "List the project's volume snapshots, newest first", ok, op(a.listSnapshots)},
		{post, "/volume-snapshots", "volume:snapshot:create", "Snapshot a volume (in use: with force, crash-consistent; 202)", accepted, op(a.createSnapshot)},
		{get, "/volume-snapshots/{id}", "volume:snapshot:get", "Show a snapshot", ok, op(a.getSnapshot)},
		{patch, "/volume-snapshots/{id}", "volume:snapshot:update", "Rename a snapshot or change its description", ok, op(a.updateSnapshot)},
		{del, "/volume-snapshots/{id}", "volume:snapshot:delete", "Delete a snapshot (volumes made from it keep their data; 202)", accepted, op(a.deleteSnapshot)},
		{get, "/volume-types", "volume:type:list", "List the volume types you may use", ok, op(a.listVolumeTypes)},
		{get, "/volume-types/{id}", "volume:type:get", "Show a volume type (by ID or name)", ok, op(a.getVolumeType)},
		{post, "/volume-types", "volume:type:create", "Create a volume type mapped to a backend", created, op(a.createVolumeType)},
		{patch, "/volume-types/{id}", "volume:type:update", "Change a volume type: backend, visibility, default, project access", ok, op(a.updateVolumeType)},
		{del, "/volume-types/{id}", "volume:type:delete", "Delete a volume type no volume uses", noContent, op(a.deleteVolumeType)},
		{get, "/volume-backends", "volume:backend:list", "List the volume backends with their capacity and allocation", ok, op(a.listVolumeBackends)},
		{patch, "/volume-backends/{name}", "volume:backend:update", "Enable or disable a backend for new volumes", ok, op(a.updateVolumeBackend)},

		// Quotas.
		{get, "/usage", "compute:usage", "Your project's quotas: each resource's limit and use", ok, op(a.usage)},
		{get, "/quotas/{project}", "compute:quota:get", "A project's quotas", ok, op(a.getQuotas)},
		{put, "/quotas/{project}", "compute:quota:update", "Set a project's limits (-1 is unlimited)", ok, op(a.setQuotas)},
		{del, "/quotas/{project}", "compute:quota:update", "Put a project's limits back to the defaults: every resource, or those named by ?resource= (repeatable)", ok, op(a.resetQuotas)},

		// Hypervisor hosts (operators).
		{get, "/hosts", "compute:host:list", "List hypervisor hosts with their state, capacity and usage", ok, op(a.listHosts)},
		{get, "/hosts/{id}", "compute:host:get", "Show a host (by ID or name)", ok, op(a.getHost)},
		{patch, "/hosts/{id}", "compute:host:update", "Enable a host, or disable it with a reason", ok, op(a.updateHost)},
		{post, "/hosts/{id}/actions", "compute:host:drain", "Live-migrate every running instance of a host that is up (live_migrate), or evacuate every instance of one that is down (evacuate) (202)", accepted, op(a.drainHost)},
	}
}
