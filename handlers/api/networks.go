package api

import (
	"net/http"

	"stratus/models"
)

// Networking (Neutron's core): networks, subnets, ports, security groups
// and their rules, with Neutron's field names. Networks and security groups
// may be named by ID or name in a path; subnets, ports and rules by ID.

// NetworkList is a page of the networks the caller may use (its project's
// and the shared ones), by name.
type NetworkList struct {
	Networks []models.Network `json:"networks"`
	Next     *string          `json:"next"`
}

// networkPath names a network by ID or name.
type networkPath struct {
	ID string `path:"id" doc:"The network's ID or name."`
}

type networkQuery struct {
	namedPage
	Shared      string `query:"shared" enum:"true,false" doc:"Only shared (true) or unshared (false) networks."`
	External    string `query:"router:external" enum:"true,false" doc:"Only external (true) or internal (false) networks."`
	AllProjects bool   `query:"all_projects" doc:"Operators: every project's networks."`
}

func boolFilter(s string) *bool {
	if s == "" {
		return nil
	}
	b := s == "true"
	return &b
}

func networkViews(c models.Caller, nets []models.Network) []models.Network {
	out := make([]models.Network, len(nets))
	for i, n := range nets {
		out[i] = n.ForCaller(c)
	}
	return out
}

func (a *API) listNetworks(r *http.Request, c models.Caller, in networkQuery) (NetworkList, error) {
	if in.AllProjects && !a.Policy.Allowed(&c, "network:network:list_all") {
		return NetworkList{}, &models.Error{Kind: models.ErrForbidden, Msg: "only operators may list every project's networks"}
	}
	p, err := a.Store.ListNetworks(r.Context(), c, models.NetworkFilter{ListOptions: in.options(),
		Shared: boolFilter(in.Shared), RouterExternal: boolFilter(in.External), AllProjects: in.AllProjects})
	if err != nil {
		return NetworkList{}, err
	}
	return NetworkList{Networks: networkViews(c, nonNil(p.Items)), Next: nextLink(r, p.NextMarker)}, nil
}

// createNetwork adds a network to the project, with a VXLAN segment of its
// own. shared and router:external are for operators (a member gets 403).
func (a *API) createNetwork(r *http.Request, c models.Caller, in struct {
	Body models.NetworkInput `body:"json"`
}) (models.Network, error) {
	n, err := a.Store.CreateNetwork(r.Context(), c, in.Body)
	return n.ForCaller(c), err
}

func (a *API) getNetwork(r *http.Request, c models.Caller, in networkPath) (models.Network, error) {
	n, err := a.Store.GetNetwork(r.Context(), c, in.ID)
	return n.ForCaller(c), err
}

func (a *API) updateNetwork(r *http.Request, c models.Caller, in struct {
	networkPath
	Body models.NetworkUpdate `body:"json"`
}) (models.Network, error) {
	n, err := a.Store.UpdateNetwork(r.Context(), c, in.ID, in.Body)
	return n.ForCaller(c), err
}

// deleteNetwork removes a network and its subnets; one with ports in use is
// 409.
func (a *API) deleteNetwork(r *http.Request, c models.Caller, in networkPath) (none, error) {
	return none{}, a.Store.DeleteNetwork(r.Context(), c, in.ID)
}

// SubnetList is a page of the subnets of the networks the caller may use.
type SubnetList struct {
	Subnets []models.Subnet `json:"subnets"`
	Next    *string         `json:"next"`
}

type subnetQuery struct {
	namedPage
	NetworkID string `query:"network_id" format:"uuid" doc:"Only this network's subnets."`
}

func (a *API) listSubnets(r *http.Request, c models.Caller, in subnetQuery) (SubnetList, error) {
	p, err := a.Store.ListSubnets(r.Context(), c, models.SubnetFilter{ListOptions: in.options(), NetworkID: []string{in.NetworkID}})
	if err != nil {
		return SubnetList{}, err
	}
	return SubnetList{Subnets: nonNil(p.Items), Next: nextLink(r, p.NextMarker)}, nil
}

// createSubnet adds an IPv4 subnet to one of the project's networks.
// gateway_ip absent is the first address, null is no gateway.
func (a *API) createSubnet(r *http.Request, c models.Caller, in struct {
	Body models.SubnetInput `body:"json"`
}) (models.Subnet, error) {
	return a.Store.CreateSubnet(r.Context(), c, in.Body)
}

func (a *API) getSubnet(r *http.Request, c models.Caller, in idPath) (models.Subnet, error) {
	return a.Store.GetSubnet(r.Context(), c, in.ID)
}

func (a *API) updateSubnet(r *http.Request, c models.Caller, in struct {
	idPath
	Body models.SubnetUpdate `body:"json"`
}) (models.Subnet, error) {
	return a.Store.UpdateSubnet(r.Context(), c, in.ID, in.Body)
}

func (a *API) deleteSubnet(r *http.Request, c models.Caller, in idPath) (none, error) {
	return none{}, a.Store.DeleteSubnet(r.Context(), c, in.ID)
}
