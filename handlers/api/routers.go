package api

import (
	"net/http"

	"stratus/models"
)

// Neutron's L3: routers (a gateway on an external network, interfaces on
// the project's subnets) and floating IPs. Routers may be named by ID or
// name in a path, floating IPs by ID or address.

// RouterList is a page of the project's routers, by name.
type RouterList struct {
	Routers []models.Router `json:"routers"`
	Next    *string         `json:"next"`
}

type routerPath struct {
	ID string `path:"id" doc:"The router's ID or name."`
}

type routerQuery struct {
	namedPage
	AllProjects bool `query:"all_projects" doc:"Operators: every project's routers."`
}

func routerViews(c models.Caller, rs []models.Router) []models.Router {
	out := make([]models.Router, len(rs))
	for i, r := range rs {
		out[i] = r.ForCaller(c)
	}
	return out
}

func (a *API) listRouters(r *http.Request, c models.Caller, in routerQuery) (RouterList, error) {
	if in.AllProjects && !a.Policy.Allowed(&c, "network:network:list_all") {
		return RouterList{}, &models.Error{Kind: models.ErrForbidden, Msg: "only operators may list every project's routers"}
	}
	p, err := a.Store.ListRouters(r.Context(), c, models.RouterFilter{ListOptions: in.options(), AllProjects: in.AllProjects})
	if err != nil {
		return RouterList{}, err
	}
	return RouterList{Routers: routerViews(c, nonNil(p.Items)), Next: nextLink(r, p.NextMarker)}, nil
}

// createRouter adds a router to the project (routers quota), with its
// gateway on an external network when external_gateway_info names one.
func (a *API) createRouter(r *http.Request, c models.Caller, in struct {
	Body models.RouterInput `body:"json"`
}) (models.Router, error) {
	rt, err := a.Store.CreateRouter(r.Context(), c, in.Body)
	return rt.ForCaller(c), err
}

func (a *API) getRouter(r *http.Request, c models.Caller, in routerPath) (models.Router, error) {
	rt, err := a.Store.GetRouter(r.Context(), c, in.ID)
	return rt.ForCaller(c), err
}

// updateRouter renames a router, sets or clears its gateway
// (external_gateway_info null clears it; 409 while floating IPs use it),
// or replaces its extra routes.
func (a *API) updateRouter(r *http.Request, c models.Caller, in struct {
	routerPath
	Body models.RouterUpdate `body:"json"`
}) (models.Router, error) {
	rt, err := a.Store.UpdateRouter(r.Context(), c, in.ID, in.Body)
	return rt.ForCaller(c), err
}

// deleteRouter removes a router without interfaces (409 otherwise).
func (a *API) deleteRouter(r *http.Request, c models.Caller, in routerPath) (none, error) {
	return none{}, a.Store.DeleteRouter(r.Context(), c, in.ID)
}

// addRouterInterface attaches a subnet (the router takes its gateway IP)
// or a port to the router.
func (a *API) addRouterInterface(r *http.Request, c models.Caller, in struct {
	routerPath
	Body models.RouterInterfaceInput `body:"json"`
}) (models.RouterInterfaceInfo, error) {
	return a.Store.AddRouterInterface(r.Context(), c, in.ID, in.Body)
}

// removeRouterInterface detaches a subnet or interface port (409 while
// floating IPs reach their ports through it).
func (a *API) removeRouterInterface(r *http.Request, c models.Caller, in struct {
	routerPath
	Body models.RouterInterfaceInput `body:"json"`
}) (models.RouterInterfaceInfo, error) {
	return a.Store.RemoveRouterInterface(r.Context(), c, in.ID, in.Body)
}

// FloatingIPList is a page of the project's floating IPs.
type FloatingIPList struct {
	FloatingIPs []models.FloatingIPView `json:"floating_ips"`
	Next        *string                 `json:"next"`
}

type floatingIPPath struct {
	ID string `path:"id" doc:"The floating IP's ID or address."`
}

type floatingIPQuery struct {
	page
	PortID      string `query:"port_id" doc:"Only the floating IP associated with this port."`
	AllProjects bool   `query:"all_projects" doc:"Operators: every project's floating IPs."`
}

func (a *API) listFloatingIPs(r *http.Request, c models.Caller, in floatingIPQuery) (FloatingIPList, error) {
	if in.AllProjects && !a.Policy.Allowed(&c, "network:network:list_all") {
		return FloatingIPList{}, &models.Error{Kind: models.ErrForbidden, Msg: "only operators may list every project's floating IPs"}
	}
	p, err := a.Store.ListFloatingIPs(r.Context(), c, models.FloatingIPFilter{ListOptions: models.ListOptions{Limit: in.Limit, Marker: in.Marker},
		PortID: []string{in.PortID}, AllProjects: in.AllProjects})
	if err != nil {
		return FloatingIPList{}, err
	}
	views := make([]models.FloatingIPView, len(p.Items))
	for i, f := range p.Items {
		views[i] = f.View()
	}
	return FloatingIPList{FloatingIPs: views, Next: nextLink(r, p.NextMarker)}, nil
}

// createFloatingIP allocates an address of an external network
// (floatingips quota; 409 when the range is exhausted), associated at once
// when port_id is given.
func (a *API) createFloatingIP(r *http.Request, c models.Caller, in struct {
	Body models.FloatingIPInput `body:"json"`
}) (models.FloatingIPView, error) {
	f, err := a.Store.CreateFloatingIP(r.Context(), c, in.Body)
	return f.View(), err
}

func (a *API) getFloatingIP(r *http.Request, c models.Caller, in floatingIPPath) (models.FloatingIPView, error) {
	f, err := a.Store.GetFloatingIP(r.Context(), c, in.ID)
	return f.View(), err
}

// updateFloatingIP associates the floating IP with a port (port_id, with
// fixed_ip_address when the port has several; 409 naming the router that
// is missing), moves it, or disassociates it (port_id null).
func (a *API) updateFloatingIP(r *http.Request, c models.Caller, in struct {
	floatingIPPath
	Body models.FloatingIPUpdate `body:"json"`
}) (models.FloatingIPView, error) {
	f, err := a.Store.UpdateFloatingIP(r.Context(), c, in.ID, in.Body)
	return f.View(), err
}

// deleteFloatingIP releases the address.
func (a *API) deleteFloatingIP(r *http.Request, c models.Caller, in floatingIPPath) (none, error) {
	return none{}, a.Store.DeleteFloatingIP(r.Context(), c, in.ID)
}
