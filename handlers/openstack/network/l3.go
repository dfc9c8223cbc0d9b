package network

import (
	"net/http"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// Neutron's L3 (the router and floating IP extensions) over the same
// model operations as /api/v1/routers and /api/v1/floating-ips.

type routerView struct {
	models.Router
	standard
	AvailabilityZones []string `json:"availability_zones"`
	Distributed       bool     `json:"distributed"`
	HA                bool     `json:"ha"`
}

func rtrView(c *models.Caller, x models.Router) routerView {
	if x.Routes == nil {
		x.Routes = []models.Route{}
	}
	return routerView{Router: x.ForCaller(*c), standard: std(x.ProjectID), AvailabilityZones: []string{"nova"}}
}

type floatingIPView struct {
	models.FloatingIPView
	standard
}

func fipView(x models.FloatingIP) floatingIPView {
	return floatingIPView{FloatingIPView: x.View(), standard: std(x.ProjectID)}
}

func (n *Network) listRouters(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	lq, err := queryOf(r)
	if err != nil {
		return err
	}
	p, err := n.Store.ListRouters(r.Context(), *c, models.RouterFilter{ListOptions: lq.opts, Match: lq.match, AllProjects: n.Policy.Allowed(c, "network:network:list_all")})
	if err != nil {
		return err
	}
	out := []routerView{}
	for _, x := range p.Items {
		out = append(out, rtrView(c, x))
	}
	n.writeList(w, r, "routers", out, p.NextMarker)
	return nil
}

func (n *Network) createRouter(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	var in models.RouterInput
	if err := decodeBody(w, r, c, "router", &in); err != nil {
		return err
	}
	x, err := n.Store.CreateRouter(r.Context(), *c, in)
	if err != nil {
		return err
	}
	return created(w, "router", rtrView(c, x))
}

func (n *Network) getRouter(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	x, err := n.Store.GetRouter(r.Context(), *c, id)
	if err != nil {
		return notFound(err, "Router", id)
	}
	return shown(w, "router", rtrView(c, x))
}

func (n *Network) updateRouter(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	if _, err := n.Store.GetRouter(r.Context(), *c, id); err != nil {
		return notFound(err, "Router", id)
	}
	var in models.RouterUpdate
	if err := decodeBody(w, r, c, "router", &in); err != nil {
		return err
	}
	x, err := n.Store.UpdateRouter(r.Context(), *c, id, in)
	if err != nil {
		return notFound(err, "Router", id)
	}
	return shown(w, "router", rtrView(c, x))
}

func (n *Network) deleteRouter(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	return deleted(w, n.Store.DeleteRouter(r.Context(), *c, id), "Router", id)
}

// routerInterface serves add_router_interface and remove_router_interface:
// an unwrapped {"subnet_id"} or {"port_id"} body, an unwrapped answer.
func (n *Network) routerInterface(add bool) service.Handler {
	return func(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
		id := urlParam(r, "id")
		if _, err := n.Store.GetRouter(r.Context(), *c, id); err != nil {
			return notFound(err, "Router", id)
		}
		var in models.RouterInterfaceInput
		if err := service.Decode(w, r, &in); err != nil {
			return err
		}
		var info models.RouterInterfaceInfo
		var err error
		if add {
			info, err = n.Store.AddRouterInterface(r.Context(), *c, id, in)
		} else {
			info, err = n.Store.RemoveRouterInterface(r.Context(), *c, id, in)
		}
		if err != nil {
			return err
		}
		service.WriteJSON(w, http.StatusOK, info)
		return nil
	}
}

func (n *Network) listFloatingIPs(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	lq, err := queryOf(r)
	if err != nil {
		return err
	}
	p, err := n.Store.ListFloatingIPs(r.Context(), *c, models.FloatingIPFilter{ListOptions: lq.opts, Match: lq.match, PortID: lq.all("port_id"),
		FloatingIPAddress: lq.all("floating_ip_address"),
		AllProjects:       n.Policy.Allowed(c, "network:network:list_all")})
	if err != nil {
		return err
	}
	out := []floatingIPView{}
	for _, x := range p.Items {
		out = append(out, fipView(x))
	}
	n.writeList(w, r, "floatingips", out, p.NextMarker)
	return nil
}

func (n *Network) createFloatingIP(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	var in models.FloatingIPInput
	if err := decodeBody(w, r, c, "floatingip", &in); err != nil {
		return err
	}
	x, err := n.Store.CreateFloatingIP(r.Context(), *c, in)
	if err != nil {
		return err
	}
	return created(w, "floatingip", fipView(x))
}

func (n *Network) getFloatingIP(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	x, err := n.Store.GetFloatingIP(r.Context(), *c, id)
	if err != nil {
		return notFound(err, "Floating IP", id)
	}
	return shown(w, "floatingip", fipView(x))
}

func (n *Network) updateFloatingIP(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	if _, err := n.Store.GetFloatingIP(r.Context(), *c, id); err != nil {
		return notFound(err, "Floating IP", id)
	}
	var in models.FloatingIPUpdate
	if err := decodeBody(w, r, c, "floatingip", &in); err != nil {
		return err
	}
	x, err := n.Store.UpdateFloatingIP(r.Context(), *c, id, in)
	if err != nil {
		return notFound(err, "Floating IP", id)
	}
	return shown(w, "floatingip", fipView(x))
}

func (n *Network) deleteFloatingIP(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	return deleted(w, n.Store.DeleteFloatingIP(r.Context(), *c, id), "Floating IP", id)
}
