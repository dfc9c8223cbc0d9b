// Package identity is the facade's Keystone v3: version documents, password
// authentication with project or system scope, token validation and
// revocation, the catalog, the Default domain, projects, users, roles and
// role assignments — translated to Stratus' identity model. Tokens are
// Stratus' API tokens (stk_…): the X-Subject-Token a client gets here is the
// same credential /api/v1 takes, with the same expiry, revocation and audit.
//
// Stratus has one domain ("default", named Default) and three roles that
// imply each other (admin ⊃ member ⊃ reader), whose IDs are their names.
package identity

import (
	"net/http"

	"stratus/handlers/openstack/service"
)

// Prefix is where the identity API is served.
const Prefix = "/identity"

// Default domain, the only one.
const (
	DomainID   = "default"
	DomainName = "Default"
)

// Identity serves the Keystone v3 API.
type Identity struct {
	service.Deps
	svc *service.Service
}

// New builds the identity service.
func New(d service.Deps) *service.Service {
	id := &Identity{Deps: d}
	id.svc = &service.Service{Deps: d, Prefix: Prefix, Shape: errorShape, Routes: id.routes()}
	return id.svc
}

// errorShape is Keystone's: {"error": {"code", "title", "message"}}.
func errorShape(status int, message string) any {
	return map[string]any{"error": map[string]any{"code": status, "title": service.StatusTitle(status), "message": message}}
}

func (id *Identity) routes() []service.Route {
	const get, post, put, patch, del, head = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead
	return []service.Route{
		service.R(get, "/", "openstack:versions", "Identity API versions", id.versions),
		service.R(get, "/v3", "openstack:versions", "Identity v3 version document", id.version),

		service.R(post, "/v3/auth/tokens", "identity:token:issue", "Authenticate (password or application credential) and get a token", id.issueToken),
		service.R(get, "/v3/auth/tokens", "identity:token:validate", "Validate the X-Subject-Token and show it", id.validateToken),
		service.R(head, "/v3/auth/tokens", "identity:token:validate", "Check the X-Subject-Token", id.checkToken),
		service.R(del, "/v3/auth/tokens", "identity:token:revoke", "Revoke the X-Subject-Token", id.revokeToken),
		service.R(get, "/v3/auth/catalog", "identity:catalog", "The service catalog of this token", id.catalog),
		service.R(get, "/v3/auth/projects", "identity:me", "Projects this token's user may scope to", id.authProjects),
		service.R(get, "/v3/auth/system", "identity:me", "The system, when this token's user has a role on it", id.authSystem),
		service.R(get, "/v3/auth/domains", "identity:me", "Domains this token's user may scope to (none: Stratus has project and system scope)", id.authDomains),

		service.R(get, "/v3/domains", "identity:domain:get", "List domains (only Default)", id.listDomains),
		service.R(get, "/v3/domains/{id}", "identity:domain:get", "Show a domain", id.getDomain),

		service.R(get, "/v3/projects", "identity:project:list", "List projects", id.listProjects),
		service.R(post, "/v3/projects", "identity:project:create", "Create a project", id.createProject),
		service.R(get, "/v3/projects/{id}", "identity:project:get", "Show a project", id.getProject),
		service.R(patch, "/v3/projects/{id}", "identity:project:update", "Change a project's description or enable/disable it", id.updateProject),

		service.R(get, "/v3/users", "identity:user:list", "List users", id.listUsers),
		service.R(post, "/v3/users", "identity:user:create", "Create a user", id.createUser),
		service.R(get, "/v3/users/{id}", "identity:user:get", "Show a user", id.getUser),
		service.R(patch, "/v3/users/{id}", "identity:user:update", "Change a user's e-mail, password or enabled flag", id.updateUser),
		service.R(get, "/v3/users/{id}/projects", "identity:me", "Projects a user has a role on (yourself, or anyone for an operator)", id.userProjects),
		service.R(get, "/v3/users/{id}/application_credentials", "identity:token:list", "Your application credentials (Stratus API tokens)", id.listAppCreds),
		service.R(post, "/v3/users/{id}/application_credentials", "identity:token:create", "Create an application credential (a Stratus API token; the secret is shown once)", id.createAppCred),
		service.R(get, "/v3/users/{id}/application_credentials/{cred}", "identity:token:list", "Show one of your application credentials", id.getAppCred),
		service.R(del, "/v3/users/{id}/application_credentials/{cred}", "identity:token:revoke", "Delete (revoke) one of your application credentials", id.deleteAppCred),

		service.R(get, "/v3/roles", "identity:role:list", "List roles", id.listRoles),
		service.R(get, "/v3/roles/{id}", "identity:role:list", "Show a role", id.getRole),
		service.R(get, "/v3/role_assignments", "identity:role_assignment:list", "List role assignments (filters user.id, scope.project.id, scope.system, role.id; effective; include_names)", id.listAssignments),
		service.R(get, "/v3/projects/{project}/users/{user}/roles", "identity:role_assignment:list", "Roles of a user on a project", id.projectUserRoles),
		service.R(put, "/v3/projects/{project}/users/{user}/roles/{role}", "identity:role_assignment:create", "Grant a role on a project", id.grantProjectRole),
		service.R(head, "/v3/projects/{project}/users/{user}/roles/{role}", "identity:role_assignment:list", "Check a role grant on a project", id.checkProjectRole),
		service.R(del, "/v3/projects/{project}/users/{user}/roles/{role}", "identity:role_assignment:delete", "Revoke a role on a project", id.revokeProjectRole),
		service.R(get, "/v3/system/users/{user}/roles", "identity:role_assignment:list", "System roles of a user", id.systemUserRoles),
		service.R(put, "/v3/system/users/{user}/roles/{role}", "identity:role_assignment:create", "Grant a role on the system", id.grantSystemRole),
		service.R(head, "/v3/system/users/{user}/roles/{role}", "identity:role_assignment:list", "Check a role grant on the system", id.checkSystemRole),
		service.R(del, "/v3/system/users/{user}/roles/{role}", "identity:role_assignment:delete", "Revoke a role on the system", id.revokeSystemRole),
	}
}
