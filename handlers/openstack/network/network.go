// Package network is the facade's Neutron v2.0: networks, subnets, ports,
// security groups and their rules, the extensions list and quotas —
// translated to Stratus' networking model, whose fields already carry
// Neutron's names.
package network

import (
	"net/http"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// Prefix is where the network API is served.
const Prefix = "/network"

// Network serves the Neutron v2.0 API.
type Network struct {
	service.Deps
}

// New builds the network service.
func New(d service.Deps) *service.Service {
	n := &Network{Deps: d}
	return &service.Service{Deps: d, Prefix: Prefix, Shape: errorShape, Routes: n.routes(), QuotaStatus: http.StatusConflict}
}

// errorShape is Neutron's: {"NeutronError": {"type", "message", "detail"}}.
func errorShape(status int, message string) any {
	kind := map[int]string{
		400: "BadRequest", 401: "NotAuthorized", 403: "PolicyNotAuthorized", 404: "NotFound", 405: "HTTPMethodNotAllowed",
		409: "Conflict", 413: "RequestEntityTooLarge", 415: "HTTPUnsupportedMediaType",
	}[status]
	if kind == "" {
		kind = "NeutronServerError"
	}
	return map[string]any{"NeutronError": map[string]string{"type": kind, "message": message, "detail": ""}}
}

func (n *Network) routes() []service.Route {
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	R := service.R
	return []service.Route{
		R(get, "/", "openstack:versions", "Network API versions", n.versions),
		R(get, "/v2.0", "network:extension:list", "The resources of the v2.0 API", n.resources),
		R(get, "/v2.0/extensions", "network:extension:list", "List the API extensions Stratus offers", n.listExtensions),
		R(get, "/v2.0/extensions/{alias}", "network:extension:list", "Show an extension", n.getExtension),

		R(get, "/v2.0/networks", "network:network:list", "List networks (the project's and shared ones; filters, paging)", n.listNetworks),
		R(post, "/v2.0/networks", "network:network:create", "Create a network", n.createNetwork),
		R(get, "/v2.0/networks/{id}", "network:network:get", "Show a network", n.getNetwork),
		R(put, "/v2.0/networks/{id}", "network:network:update", "Update a network", n.updateNetwork),
		R(del, "/v2.0/networks/{id}", "network:network:delete", "Delete a network", n.deleteNetwork),

		R(get, "/v2.0/subnets", "network:subnet:list", "List subnets", n.listSubnets),
		R(post, "/v2.0/subnets", "network:subnet:create", "Create a subnet", n.createSubnet),
		R(get, "/v2.0/subnets/{id}", "network:subnet:get", "Show a subnet", n.getSubnet),
		R(put, "/v2.0/subnets/{id}", "network:subnet:update", "Update a subnet", n.updateSubnet),
		R(del, "/v2.0/subnets/{id}", "network:subnet:delete", "Delete a subnet", n.deleteSubnet),

		R(get, "/v2.0/ports", "network:port:list", "List ports", n.listPorts),
		R(post, "/v2.0/ports", "network:port:create", "Create a port", n.createPort),
		R(get, "/v2.0/ports/{id}", "network:port:get", "Show a port", n.getPort),
		R(put, "/v2.0/ports/{id}", "network:port:update", "Update a port", n.updatePort),
		R(del, "/v2.0/ports/{id}", "network:port:delete", "Delete a port", n.deletePort),

		R(get, "/v2.0/routers", "network:router:list", "List routers", n.listRouters),
		R(post, "/v2.0/routers", "network:router:create", "Create a router", n.createRouter),
		R(get, "/v2.0/routers/{id}", "network:router:get", "Show a router", n.getRouter),
		R(put, "/v2.0/routers/{id}", "network:router:update", "Update a router (gateway, routes)", n.updateRouter),
		R(del, "/v2.0/routers/{id}", "network:router:delete", "Delete a router", n.deleteRouter),
		R(put, "/v2.0/routers/{id}/add_router_interface", "network:router:add_router_interface", "Add an interface to a router", n.routerInterface(true)),
		R(put, "/v2.0/routers/{id}/remove_router_interface", "network:router:remove_router_interface", "Remove an interface from a router", n.routerInterface(false)),

		R(get, "/v2.0/floatingips", "network:floatingip:list", "List floating IPs", n.listFloatingIPs),
		R(post, "/v2.0/floatingips", "network:floatingip:create", "Allocate a floating IP", n.createFloatingIP),
		R(get, "/v2.0/floatingips/{id}", "network:floatingip:get", "Show a floating IP", n.getFloatingIP),
		R(put, "/v2.0/floatingips/{id}", "network:floatingip:update", "Associate or disassociate a floating IP", n.updateFloatingIP),
		R(del, "/v2.0/floatingips/{id}", "network:floatingip:delete", "Release a floating IP", n.deleteFloatingIP),

		R(get, "/v2.0/security-groups", "network:security_group:list", "List security groups", n.listSecurityGroups),
		R(post, "/v2.0/security-groups", "network:security_group:create", "Create a security group", n.createSecurityGroup),
		R(get, "/v2.0/security-groups/{id}", "network:security_group:get", "Show a security group", n.getSecurityGroup),
		R(put, "/v2.0/security-groups/{id}", "network:security_group:update", "Update a security group", n.updateSecurityGroup),
		R(del, "/v2.0/security-groups/{id}", "network:security_group:delete", "Delete a security group", n.deleteSecurityGroup),
		R(get, "/v2.0/security-group-rules", "network:security_group_rule:list", "List security group rules", n.listRules),
		R(post, "/v2.0/security-group-rules", "network:security_group_rule:create", "Create a security group rule", n.createRule),
		R(get, "/v2.0/security-group-rules/{id}", "network:security_group_rule:get", "Show a security group rule", n.getRule),
		R(del, "/v2.0/security-group-rules/{id}", "network:security_group_rule:delete", "Delete a security group rule", n.deleteRule),

		R(get, "/v2.0/quotas", "compute:quota:get", "Every project's networking quotas (operators)", n.listQuotas),
		R(get, "/v2.0/quotas/{project}", "compute:usage", "A project's networking quotas (yours, or any for an operator)", n.getQuota),
		R(get, "/v2.0/quotas/{project}/details.json", "compute:usage", "A project's networking quotas with usage", n.getQuotaDetails),
		R(get, "/v2.0/quotas/{project}/details", "compute:usage", "A project's networking quotas with usage", n.getQuotaDetails),
		R(put, "/v2.0/quotas/{project}", "compute:quota:update", "Set a project's networking quotas", n.setQuota),
		R(del, "/v2.0/quotas/{project}", "compute:quota:update", "Reset a project's networking quotas to the defaults (204)", n.deleteQuota),
	}
}

func (n *Network) versions(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	service.WriteJSON(w, http.StatusOK, map[string]any{"versions": []any{map[string]any{
		"id": "v2.0", "status": "CURRENT",
		"links": []map[string]string{{"rel": "self", "href": n.BaseURL(r) + Prefix + "/v2.0/"}},
	}}})
	return nil
}

func (n *Network) resources(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	var out []map[string]any
	for _, res := range [][2]string{{"network", "networks"}, {"subnet", "subnets"}, {"port", "ports"},
		{"security_group", "security-groups"}, {"security_group_rule", "security-group-rules"}, {"router", "routers"},
		{"floatingip", "floatingips"}, {"quota", "quotas"}} {
		out = append(out, map[string]any{"name": res[0], "collection": res[1],
			"links": []map[string]string{{"rel": "self", "href": n.BaseURL(r) + Prefix + "/v2.0/" + res[1]}}})
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"resources": out})
	return nil
}

// extensions are the Neutron API extensions whose behaviour Stratus has.
var extensions = [][3]string{
	{"security-group", "security-group", "The security groups extension."},
	{"port-security", "Port Security", "Provides port security"},
	{"provider", "Provider Network", "Expose mapping of virtual networks to physical networks"},
	{"external-net", "Neutron external network", "Adds external network attribute to network resource."},
	{"quotas", "Quota management support", "Expose functions for quotas management per project"},
	{"quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project"},
	{"project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."},
	{"network-mtu", "Network MTU", "Provides MTU attribute for a network resource."},
	{"standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes"},
	{"standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."},
	{"binding", "Port Binding", "Expose port bindings of a virtual port to external application"},
	{"stateful-security-group", "Stateful security group", "Indicates if the security group is stateful or not"},
	{"router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."},
	{"ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"},
	{"extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"},
}

func extensionView(e [3]string) map[string]any {
	return map[string]any{"alias": e[0], "name": e[1], "description": e[2], "links": []any{}, "updated": "2013-01-20T00:00:00-00:00"}
}

func (n *Network) listExtensions(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	out := make([]map[string]any, len(extensions))
	for i, e := range extensions {
		out[i] = extensionView(e)
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"extensions": out})
	return nil
}

func (n *Network) getExtension(w http.ResponseWriter, r *http.Request, _ *models.Caller) error {
	alias := urlParam(r, "alias")
	for _, e := range extensions {
		if e[0] == alias {
			service.WriteJSON(w, http.StatusOK, map[string]any{"extension": extensionView(e)})
			return nil
		}
	}
	return service.NotFound("Extension with alias " + alias + " does not exist")
}
