// Package web is the browser surface: templ pages and htmx fragments over
// the same model operations as the API, with scs sessions and CSRF checks.
//
// Every route is declared once, in routes(), with its method, pattern and
// policy action; the chi router and Routes() (which tests walk to build the
// RBAC matrix) are both made from that table, so a route cannot exist
// without an action.
package web

import (
	"log/slog"
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"

	"stratus/handlers/policy"
	"stratus/models"
	"stratus/static"
	"stratus/views/i18n"
)

// Deps are the web surface's dependencies.
type Deps struct {
	Store    *models.Store
	Policy   *policy.Enforcer
	Log      *slog.Logger
	Sessions *scs.SessionManager
	Assets   *static.Assets
	// PublicURL is where clients reach Stratus (--public-url; "" is each
	// request's own scheme and host): objects' public and temporary URLs
	// are built on it.
	PublicURL string
	// Locales are the console's languages (nil: the built-in catalogue).
	Locales *i18n.Catalogue
}

// Web serves the UI.
type Web struct {
	Deps
	pageActions map[string]string // GET pattern → its policy action (for the sidebar)
}

// New builds the web surface.
func New(d Deps) *Web {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Locales == nil {
		d.Locales = i18n.Builtin()
	}
	if d.Assets == nil {
		d.Assets = static.New()
	}
	h := &Web{Deps: d, pageActions: map[string]string{}}
	for _, rt := range h.routes() {
		if rt.method == http.MethodGet {
			h.pageActions[rt.pattern] = rt.action
		}
	}
	return h
}

// route is one endpoint: what it answers, which policy action guards it, and
// the handler. body is its request body limit: 0 for an ordinary form
// (maxFormBytes), more for a bigger form, bodyStream for a route that
// streams its body (it then takes its CSRF token from a header).
type route struct {
	method  string
	pattern string
	action  string
	handler http.HandlerFunc
	body    int64
}

// bodyStream marks a route whose body is streamed, not parsed as a form.
const bodyStream = -1

// routes is the web UI's one route table.
func (h *Web) routes() []route {
	const get, post, put = http.MethodGet, http.MethodPost, http.MethodPut
	return []route{
		// Session.
		{get, "/login", "web:login", h.loginPage, 0},
		{post, "/login", "web:login", h.login, 0},
		{post, "/logout", "web:logout", h.logout, 0},

		// The user's own pages.
		{get, "/", "identity:me", h.overview, 0},
		{post, "/project", "identity:project:switch", h.switchProject, 0},
		{post, "/language", "identity:user:locale", h.setLanguage, 0},
		{get, "/tokens", "identity:token:list", h.tokens, 0},
		{post, "/tokens", "identity:token:create", h.createToken, 0},
		{post, "/tokens/{id}/revoke", "identity:token:revoke", h.revokeToken, 0},

		// Compute: instances. /instances/rows is what the list polls for
		// the rows in transition.
		{get, "/instances", "compute:instance:list", h.instances, 0},
		{get, "/instances/rows", "compute:instance:list", h.instanceRows, 0},
		{get, "/instances/new", "compute:instance:create", h.launchPage, 0},
		{post, "/instances", "compute:instance:create", h.launch, maxLaunchBytes},
		{post, "/instances/bulk/stop", "compute:instance:action", h.bulkStop, 0},
		{post, "/instances/bulk/delete", "compute:instance:delete", h.bulkDelete, 0},
		{get, "/instances/{id}", "compute:instance:get", h.instance, 0},
		{get, "/instances/{id}/log", "compute:instance:actions", h.instanceLog, 0},
		{get, "/instances/{id}/console-log", "compute:instance:console_log", h.instanceConsoleLog, 0},
		{get, "/instances/{id}/console", "compute:instance:console", h.instanceConsole, 0},
		{post, "/instances/{id}/action", "compute:instance:action", h.instanceAction, 0},
		{post, "/instances/{id}/move", "compute:instance:action", h.instanceMove, 0},
		{post, "/instances/{id}/snapshot", "compute:instance:action", h.snapshotInstance, 0},
		{post, "/instances/{id}/rebuild", "compute:instance:action", h.rebuildInstance, 0},
		{get, "/instances/{id}/delete", "compute:instance:delete", h.deleteInstancePage, 0},
		{post, "/instances/{id}/delete", "compute:instance:delete", h.deleteInstance, 0},

		// Images: the record is created by a form, its bytes streamed by
		// PUT (the page's script, with a progress bar) or by a multipart
		// POST (without JavaScript).
		{get, "/images", "image:list", h.images, 0},
		{get, "/images/new", "image:create", h.newImagePage, 0},
		{post, "/images", "image:create", h.createImage, 0},
		{get, "/images/{id}", "image:get", h.image, 0},
		{post, "/images/{id}", "image:update", h.updateImage, 0},
		{post, "/images/{id}/protected", "image:update", h.setImageProtected, 0},
		{post, "/images/{id}/publish", "image:update", h.publishImage, 0},
		{post, "/images/{id}/delete", "image:delete", h.deleteImage, 0},
		{get, "/images/{id}/upload", "image:upload", h.uploadPage, 0},
		{put, "/images/{id}/file", "image:upload", h.uploadImage, bodyStream},
		{post, "/images/{id}/file", "image:upload", h.uploadImage, bodyStream},

		// Object storage: containers and their objects. Uploads stream
		// like image data (PUT from the page's script with a progress
		// bar, or a multipart POST without JavaScript); …/file is never
		// compressed.
		{get, "/containers", "object:account:get", h.containers, 0},
		{post, "/containers", "object:container:create", h.createContainer, 0},
		{get, "/containers/{container}", "object:container:get", h.container, 0},
		{post, "/containers/{container}/access", "object:container:update", h.setContainerAccess, 0},
		{post, "/containers/{container}/delete", "object:container:delete", h.deleteContainer, 0},
		{post, "/containers/{container}/folder", "object:object:create", h.createFolder, 0},
		{get, "/containers/{container}/object", "object:object:get", h.objectDetail, 0},
		{get, "/containers/{container}/file", "object:object:get", h.downloadObject, 0},
		{put, "/containers/{container}/file", "object:object:create", h.uploadObject, bodyStream},
		{post, "/containers/{container}/file", "object:object:create", h.uploadObject, bodyStream},
		{post, "/containers/{container}/delete-object", "object:object:delete", h.deleteObject, 0},
		{post, "/containers/{container}/tempurl", "object:tempurl:create", h.createTempURL, 0},

		// Block storage: volumes, their actions, snapshots. Attaching from
		// an instance's page posts to /volumes/attach.
		{get, "/volumes", "volume:list", h.volumes, 0},
		{get, "/volumes/new", "volume:create", h.newVolumePage, 0},
		{post, "/volumes", "volume:create", h.createVolume, 0},
		{post, "/volumes/attach", "volume:attach", h.attachFromInstance, 0},
		{get, "/volumes/{id}", "volume:get", h.volume, 0},
		{post, "/volumes/{id}/attach", "volume:attach", h.attachVolume, 0},
		{post, "/volumes/{id}/detach", "volume:detach", h.detachVolume, 0},
		{post, "/volumes/{id}/force-detach", "volume:force_detach", h.forceDetachVolume, 0},
		{post, "/volumes/{id}/extend", "volume:extend", h.extendVolume, 0},
		{post, "/volumes/{id}/snapshot", "volume:snapshot:create", h.snapshotVolume, 0},
		{post, "/volumes/{id}/delete", "volume:delete", h.deleteVolume, 0},
		{get, "/snapshots", "volume:snapshot:list", h.snapshots, 0},
		{post, "/snapshots/{id}/delete", "volume:snapshot:delete", h.deleteSnapshot, 0},

		// Networking: networks with their subnets and ports, security
		// groups with their rules editor (htmx swaps #sg-rules). An
		// instance's groups are changed from its page.
		{get, "/networks", "network:network:list", h.networks, 0},
		{get, "/networks/new", "network:network:create", h.newNetworkPage, 0},
		{post, "/networks", "network:network:create", h.createNetwork, 0},
		{get, "/networks/{id}", "network:network:get", h.network, 0},
		{post, "/networks/{id}/delete", "network:network:delete", h.deleteNetwork, 0},
		{post, "/networks/{id}/shared", "network:network:share", h.setNetworkShared, 0},
		{post, "/networks/{id}/subnets", "network:subnet:create", h.createSubnet, 0},
		{post, "/subnets/{id}/delete", "network:subnet:delete", h.deleteSubnet, 0},
		{get, "/security-groups", "network:security_group:list", h.securityGroups, 0},
		{post, "/security-groups", "network:security_group:create", h.createSecurityGroup, 0},
		{get, "/security-groups/{id}", "network:security_group:get", h.securityGroup, 0},
		{post, "/security-groups/{id}/delete", "network:security_group:delete", h.deleteSecurityGroup, 0},
		{post, "/security-groups/{id}/rules", "network:security_group_rule:create", h.createRule, 0},
		{post, "/security-group-rules/{id}/delete", "network:security_group_rule:delete", h.deleteRule, 0},
		{post, "/instances/{id}/security-groups", "compute:instance:security_groups", h.setInstanceGroups, 0},

		// Routers (gateway on an external network, interfaces on the
		// project's subnets) and floating IPs. An instance's floating IP
		// is associated from its row or page through
		// /instances/{id}/floating-ip.
		{get, "/routers", "network:router:list", h.routers, 0},
		{post, "/routers", "network:router:create", h.createRouter, 0},
		{get, "/routers/{id}", "network:router:get", h.router, 0},
		{post, "/routers/{id}/delete", "network:router:delete", h.deleteRouter, 0},
		{post, "/routers/{id}/gateway", "network:router:update", h.setRouterGateway, 0},
		{post, "/routers/{id}/gateway/clear", "network:router:update", h.clearRouterGateway, 0},
		{post, "/routers/{id}/interfaces", "network:router:add_router_interface", h.addRouterInterface, 0},
		{post, "/routers/{id}/interfaces/remove", "network:router:remove_router_interface", h.removeRouterInterface, 0},
		{get, "/floating-ips", "network:floatingip:list", h.floatingIPs, 0},
		{post, "/floating-ips", "network:floatingip:create", h.createFloatingIP, 0},
		{get, "/floating-ips/{id}/associate", "network:floatingip:update", h.associatePage, 0},
		{post, "/floating-ips/{id}/associate", "network:floatingip:update", h.associateFloatingIP, 0},
		{post, "/floating-ips/{id}/disassociate", "network:floatingip:update", h.disassociateFloatingIP, 0},
		{post, "/floating-ips/{id}/delete", "network:floatingip:delete", h.releaseFloatingIP, 0},
		{get, "/instances/{id}/floating-ip", "network:floatingip:update", h.instanceFloatingPage, 0},
		{post, "/instances/{id}/floating-ip", "network:floatingip:update", h.associateInstanceFloating, 0},

		// Key pairs and flavors.
		{get, "/keypairs", "compute:keypair:list", h.keypairs, 0},
		{post, "/keypairs", "compute:keypair:create", h.createKeypair, 0},
		{post, "/keypairs/{id}/delete", "compute:keypair:delete", h.deleteKeypair, 0},
		{get, "/flavors", "compute:flavor:list", h.flavors, 0},

		// Operators: projects.
		{get, "/admin/projects", "identity:project:list", h.adminProjects, 0},
		{get, "/admin/projects/new", "identity:project:create", h.newProjectPage, 0},
		{post, "/admin/projects", "identity:project:create", h.createProject, 0},
		{get, "/admin/projects/{id}", "identity:project:get", h.adminProject, 0},
		{post, "/admin/projects/{id}/enabled", "identity:project:update", h.setProjectEnabled, 0},
		{post, "/admin/projects/{id}/members", "identity:role_assignment:create", h.addProjectMember, 0},
		{post, "/admin/projects/{id}/quotas", "compute:quota:update", h.setProjectQuotas, 0},
		{post, "/admin/projects/{id}/quotas/reset", "compute:quota:update", h.resetProjectQuotas, 0},

		// Operators: users and their roles.
		{get, "/admin/users", "identity:user:list", h.adminUsers, 0},
		{get, "/admin/users/new", "identity:user:create", h.newUserPage, 0},
		{post, "/admin/users", "identity:user:create", h.createUser, 0},
		{get, "/admin/users/{id}", "identity:user:get", h.adminUser, 0},
		{post, "/admin/users/{id}/enabled", "identity:user:update", h.setUserEnabled, 0},
		{post, "/admin/users/{id}/password", "identity:user:update", h.resetPassword, 0},
		{post, "/admin/users/{id}/unlock", "identity:user:update", h.unlockUser, 0},
		{post, "/admin/users/{id}/roles", "identity:role_assignment:create", h.assignRole, 0},
		{post, "/admin/users/{id}/roles/{assignment}/delete", "identity:role_assignment:delete", h.revokeRole, 0},

		// Operators: audit log and job queue.
		{get, "/admin/audit", "identity:audit:list", h.audit, 0},
		{get, "/admin/jobs", "admin:job:list", h.jobs, 0},
		{post, "/admin/jobs/{id}/retry", "admin:job:retry", h.retryJob, 0},
		{post, "/admin/jobs/{id}/cancel", "admin:job:cancel", h.cancelJob, 0},

		// Operators: compute. The admin lists span every project.
		{get, "/admin/hypervisors", "compute:host:list", h.hypervisors, 0},
		{post, "/admin/hypervisors/{id}/enabled", "compute:host:update", h.setHypervisorEnabled, 0},
		{post, "/admin/hypervisors/{id}/drain", "compute:host:drain", h.drainHypervisor, 0},
		{get, "/admin/instances", "compute:instance:list_all", h.adminInstances, 0},
		{get, "/admin/images", "image:list_all", h.adminImages, 0},
		{get, "/admin/flavors", "compute:flavor:list_all", h.adminFlavors, 0},
		{post, "/admin/flavors", "compute:flavor:create", h.createFlavor, 0},
		{post, "/admin/flavors/{id}/disabled", "compute:flavor:update", h.setFlavorDisabled, 0},
		{post, "/admin/flavors/{id}/delete", "compute:flavor:delete", h.deleteFlavor, 0},

		// Operators: block storage.
		{get, "/admin/volumes", "volume:list_all", h.adminVolumes, 0},
		{post, "/admin/volume-types", "volume:type:create", h.createVolumeType, 0},
		{post, "/admin/volume-types/{id}/delete", "volume:type:delete", h.deleteVolumeType, 0},
	}
}

// Routes lists every route with its method, chi pattern (relative to where
// the UI is mounted, "/") and policy action.
func (h *Web) Routes() []policy.Route {
	table := h.routes()
	out := make([]policy.Route, len(table))
	for i, rt := range table {
		out[i] = policy.Route{Method: rt.method, Pattern: rt.pattern, Action: rt.action}
	}
	return out
}

// Router returns the UI's routes behind their middleware: cross-origin
// refusal, the session (whose failures SessionFailed answers: the session
// manager's ErrorFunc must be it), the caller, then per route the policy
// check and the CSRF token check.
func (h *Web) Router() chi.Router {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(h.crossOriginDenied))

	r := chi.NewRouter()
	r.Use(cop.Handler, guardSessions, h.Sessions.LoadAndSave, noStore, withCSRFMask, h.authenticate, h.withLocale)
	for _, rt := range h.routes() {
		limit, csrf := int64(maxFormBytes), h.verifyCSRF
		switch {
		case rt.body == bodyStream:
			limit, csrf = -1, h.verifyCSRFStream
		case rt.body > 0:
			limit = rt.body
		}
		r.With(limitBody(limit), h.Policy.Require(rt.action, h.denied), csrf).Method(rt.method, rt.pattern, rt.handler)
	}
	r.NotFound(h.notFound)
	r.MethodNotAllowed(h.methodNotAllowed)
	return r
}
