package api

import (
	"net/http"

	"stratus/models"
)

// PortList is a page of the project's ports, by name.
type PortList struct {
	Ports []models.Port `json:"ports"`
	Next  *string       `json:"next"`
}

type portQuery struct {
	namedPage
	NetworkID   string `query:"network_id" format:"uuid" doc:"Only ports on this network."`
	DeviceID    string `query:"device_id" doc:"Only ports of this device (an instance's ID)."`
	DeviceOwner string `query:"device_owner" doc:"Only ports with this owner (compute:nova, network:dhcp …)."`
	AllProjects bool   `query:"all_projects" doc:"Operators: every project's ports."`
}

func portViews(c models.Caller, ports []models.Port) []models.Port {
	out := make([]models.Port, len(ports))
	for i, p := range ports {
		out[i] = p.ForCaller(c)
	}
	return out
}

func (a *API) listPorts(r *http.Request, c models.Caller, in portQuery) (PortList, error) {
	if in.AllProjects && !a.Policy.Allowed(&c, "network:network:list_all") {
		return PortList{}, &models.Error{Kind: models.ErrForbidden, Msg: "only operators may list every project's ports"}
	}
	p, err := a.Store.ListPorts(r.Context(), c, models.PortFilter{ListOptions: in.options(), NetworkID: []string{in.NetworkID},
		DeviceID: []string{in.DeviceID}, DeviceOwner: []string{in.DeviceOwner}, AllProjects: in.AllProjects})
	if err != nil {
		return PortList{}, err
	}
	return PortList{Ports: portViews(c, nonNil(p.Items)), Next: nextLink(r, p.NextMarker)}, nil
}

// createPort adds a port to a network the project may use: its addresses
// from IPAM (or those asked for in fixed_ips), the default security group
// unless security_groups says otherwise. A full subnet is 409.
func (a *API) createPort(r *http.Request, c models.Caller, in struct {
	Body models.PortInput `body:"json"`
}) (models.Port, error) {
	p, err := a.Store.CreatePort(r.Context(), c, in.Body)
	return p.ForCaller(c), err
}

func (a *API) getPort(r *http.Request, c models.Caller, in idPath) (models.Port, error) {
	p, err := a.Store.GetPort(r.Context(), c, in.ID)
	return p.ForCaller(c), err
}

// updatePort changes a port's name, security groups or port security; the
// hosts apply a change of groups within seconds.
func (a *API) updatePort(r *http.Request, c models.Caller, in struct {
	idPath
	Body models.PortUpdate `body:"json"`
}) (models.Port, error) {
	p, err := a.Store.UpdatePort(r.Context(), c, in.ID, in.Body)
	return p.ForCaller(c), err
}

// deletePort removes a port and frees its addresses; a port an instance
// uses is 409.
func (a *API) deletePort(r *http.Request, c models.Caller, in idPath) (none, error) {
	return none{}, a.Store.DeletePort(r.Context(), c, in.ID)
}
