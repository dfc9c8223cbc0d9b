package api

import "net/http"

// routes is the API: every endpoint, its policy action and its handler. The
// router, the OpenAPI document and Routes() are all built from this table.
func (a *API) routes() []route {
	const (
		get, post, patch, del  = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
		ok, created, noContent = http.StatusOK, http.StatusCreated, http.StatusNoContent
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
	}
}
