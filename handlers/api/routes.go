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
		{get, "/openapi.json", "api:openapi", "This document (OpenAPI 3.1)", ok, op(a.openAPIDocument)},

		// Authentication and the caller.
		{post, "/auth/tokens", "identity:token:issue", "Log in: exchange a username and password for a token", created, op(a.issueToken)},
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
		{get, "/instances/{id}", "compute:instance:get", "Show an instance", ok, op(a.getInstance)},
		{del, "/instances/{id}", "compute:instance:delete", "Delete an instance (202 with the instance, deleting or DELETED)", accepted, op(a.deleteInstance)},
		{post, "/instances/{id}/actions", "compute:instance:action", "Start, stop or reboot an instance (202; 409 while another task runs)", accepted, op(a.instanceAction)},
		{get, "/instances/{id}/actions", "compute:instance:actions", "An instance's action log, newest first", ok, op(a.listInstanceActions)},
		{get, "/instances/{id}/console-log", "compute:instance:console_log", "The tail of an instance's serial console log", ok, op(a.consoleLog)},
		{post, "/instances/{id}/remote-console", "compute:instance:console", "A single-use VNC console URL for you (valid 10 minutes)", created, op(a.createRemoteConsole)},

		// Quotas.
		{get, "/usage", "compute:usage", "Your project's quotas: each resource's limit and use", ok, op(a.usage)},
		{get, "/quotas/{project}", "compute:quota:get", "A project's quotas", ok, op(a.getQuotas)},
		{put, "/quotas/{project}", "compute:quota:update", "Set a project's limits (-1 is unlimited)", ok, op(a.setQuotas)},

		// Hypervisor hosts (operators).
		{get, "/hosts", "compute:host:list", "List hypervisor hosts with their state, capacity and usage", ok, op(a.listHosts)},
		{get, "/hosts/{id}", "compute:host:get", "Show a host (by ID or name)", ok, op(a.getHost)},
		{patch, "/hosts/{id}", "compute:host:update", "Enable a host, or disable it with a reason", ok, op(a.updateHost)},
	}
}
