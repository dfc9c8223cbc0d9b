package pages

import (
	"stratus/models"
	"stratus/views/ui"
)

// RoutersProps is the project's router list with the form that creates
// one.
type RoutersProps struct {
	Rows      []RouterRow
	Pager     ui.PagerLinks
	External  []models.Network // the gateway choices
	Form      ui.Form
	CanCreate bool
	CanDelete bool
	CSRF      string
	Here      string
}

// RouterRow is one router of the list.
type RouterRow struct {
	Router     models.Router
	Gateway    string // its external network's name; "" without a gateway
	Interfaces int
}

// RouterDetailProps is one router's page: its gateway, its interfaces,
// and the forms that change them.
type RouterDetailProps struct {
	Router        models.Router
	Gateway       string // the external network's name
	Interfaces    []RouterInterface
	External      []models.Network // gateway choices
	Subnets       []SubnetChoice   // interface choices
	GatewayForm   ui.Form
	InterfaceForm ui.Form
	CanUpdate     bool // set and clear the gateway
	CanAdd        bool
	CanRemove     bool
	CanDelete     bool
	CSRF          string
	Here          string
}

// RouterInterface is an interface of a router: its port, the subnet whose
// gateway address it holds, and that subnet's network.
type RouterInterface struct {
	Port    models.Port
	Subnet  models.Subnet
	Network string
}

// SubnetChoice is a subnet an interface may be added on.
type SubnetChoice struct {
	Subnet  models.Subnet
	Network string
}

// GatewayIPs are the router's addresses on its external network.
func (p RouterDetailProps) GatewayIPs() string {
	gw := p.Router.ExternalGatewayInfo
	if gw == nil {
		return ""
	}
	return FixedIPs(models.Port{FixedIPs: gw.ExternalFixedIPs})
}

// Polling reports whether the page refreshes itself: an interface waits
// for a host to carry the router.
func (p RouterDetailProps) Polling() bool {
	for _, ri := range p.Interfaces {
		if ri.Port.Status != models.PortActive {
			return true
		}
	}
	return false
}

// ExternalOptions are the external networks as a select's options, after
// a first empty one labelled none.
func ExternalOptions(nets []models.Network, none string) []ui.Option {
	out := []ui.Option{{Value: "", Label: none}}
	for _, n := range nets {
		out = append(out, ui.Option{Value: n.ID, Label: displayNetName(n)})
	}
	return out
}

// SubnetOptions are the interface choices as a select's options.
func SubnetOptions(choices []SubnetChoice, none string) []ui.Option {
	out := []ui.Option{{Value: "", Label: none}}
	for _, c := range choices {
		label := c.Network + " · " + c.Subnet.CIDR
		if c.Subnet.Name != "" {
			label += " (" + c.Subnet.Name + ")"
		}
		out = append(out, ui.Option{Value: c.Subnet.ID, Label: label})
	}
	return out
}

// FloatingIPsProps is the project's floating IPs with the form that
// allocates one.
type FloatingIPsProps struct {
	Rows        []FloatingIPRow
	Pager       ui.PagerLinks
	External    []models.Network
	Form        ui.Form
	CanCreate   bool
	CanUpdate   bool // associate and disassociate
	CanDelete   bool
	CanAssocNew bool // there are instance addresses to associate with
	CSRF        string
	Here        string
}

// FloatingIPRow is a floating IP with what it points at.
type FloatingIPRow struct {
	IP         models.FloatingIP
	Network    string // the external network's name
	Instance   string // the instance whose port it points at; "" when none
	InstanceID string
}

// AssociateProps is the form that associates a floating IP with an
// instance's address: from a floating IP (Floating set: choose an
// address among the project's instances) or from an instance (choose a
// floating IP, or allocate one, among FloatingChoices).
type AssociateProps struct {
	Title           string
	Action          string
	Back            string
	Floating        string // the floating IP's address, when it is chosen
	FloatingChoices []ui.Option
	Targets         []ui.Option // "port-id/fixed-ip" → "instance · address (network)"
	Form            ui.Form
	CSRF            string
}

// routerLabel is a router's name, or its short ID.
func routerLabel(name, id string) string {
	if name != "" {
		return name
	}
	return short(id)
}

// gatewayAddrs are a router's external addresses.
func gatewayAddrs(r models.Router) string {
	return RouterDetailProps{Router: r}.GatewayIPs()
}

// gatewayValue is the gateway form's choice: what was posted, else the
// network the gateway is on.
func gatewayValue(p RouterDetailProps) string {
	if v := p.GatewayForm.Get("network_id"); v != "" {
		return v
	}
	if gw := p.Router.ExternalGatewayInfo; gw != nil {
		return gw.NetworkID
	}
	return ""
}
