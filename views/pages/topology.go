package pages

import (
	"sort"
	"strings"

	"stratus/models"
)

// Topology is the network drawing laid out for the SVG: networks as
// horizontal bars one under the other, instances and then routers as boxes
// in a row above them, each with a line down to the lowest network it is
// on and a dot (with its address) on every network it is on — a router's
// on the networks of its interfaces and on its gateway's external network.
// The layout is computed here so that the view only places what it is
// given.
type Topology struct {
	Width, Height int
	Nets          []TopoNet
	Insts         []TopoInst
	Routers       []TopoInst
}

// TopoNet is one network's bar.
type TopoNet struct {
	ID, Name, Label string // Label: its CIDRs
	Y               int
	Shared          bool
	External        bool // router:external: where routers' gateways and floating IPs are
}

// TopoInst is one instance's box and its links.
type TopoInst struct {
	ID, Name, Status string
	X, LineEnd       int // the box's left edge; where its line ends (y)
	Links            []TopoLink
}

// TopoLink is an instance's dot on a network.
type TopoLink struct {
	X, Y int
	Addr string
}

// Topology sizes (px).
const (
	topoBoxW   = 120
	topoBoxH   = 34
	topoGap    = 24
	topoMargin = 16
	topoNetTop = 96 // the first bar's y
	topoNetGap = 46
	topoLabelW = 150 // the bars' names on the left
)

// Empty reports that there is nothing to draw.
func (t Topology) Empty() bool { return len(t.Nets) == 0 }

// CenterX is the middle of an instance's box.
func (i TopoInst) CenterX() int { return i.X + topoBoxW/2 }

// BuildTopology lays out the networks of rows, the instances with a port
// on them and the routers with an interface or their gateway on them
// (ports of other devices, such as DHCP, are not drawn).
func BuildTopology(rows []NetworkRow, insts []models.Instance, ports []models.Port, routers []models.Router) Topology {
	t := Topology{}
	at := map[string]int{} // network ID → its bar's y
	for i, r := range rows {
		y := topoNetTop + i*topoNetGap
		at[r.Net.ID] = y
		cidrs := make([]string, len(r.Subnets))
		for j, sn := range r.Subnets {
			cidrs[j] = sn.CIDR
		}
		t.Nets = append(t.Nets, TopoNet{ID: r.Net.ID, Name: displayNetName(r.Net), Label: strings.Join(cidrs, ", "), Y: y, Shared: r.Net.Shared,
			External: r.Net.RouterExternal})
	}
	byInst := map[string][]models.Port{}
	for _, pt := range ports {
		if _, ok := at[pt.NetworkID]; ok && strings.HasPrefix(pt.DeviceOwner, models.DeviceOwnerComputePrefix) {
			byInst[pt.DeviceID] = append(byInst[pt.DeviceID], pt)
		}
	}
	sorted := append([]models.Instance(nil), insts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, inst := range sorted {
		pts := byInst[inst.ID]
		if len(pts) == 0 {
			continue
		}
		ti := TopoInst{ID: inst.ID, Name: inst.Name, Status: inst.Status(), X: topoLabelW + topoMargin + len(t.Insts)*(topoBoxW+topoGap)}
		for _, pt := range pts {
			y := at[pt.NetworkID]
			ti.Links = append(ti.Links, TopoLink{X: ti.CenterX(), Y: y, Addr: FixedIPs(pt)})
			ti.LineEnd = max(ti.LineEnd, y)
		}
		t.Insts = append(t.Insts, ti)
	}
	ifaces := map[string][]models.Port{}
	for _, pt := range ports {
		if _, ok := at[pt.NetworkID]; ok && pt.DeviceOwner == models.DeviceOwnerRouterInterface {
			ifaces[pt.DeviceID] = append(ifaces[pt.DeviceID], pt)
		}
	}
	sortedR := append([]models.Router(nil), routers...)
	sort.Slice(sortedR, func(i, j int) bool { return sortedR[i].Name < sortedR[j].Name })
	for _, r := range sortedR {
		pts := ifaces[r.ID]
		if gw := r.ExternalGatewayInfo; gw != nil {
			if _, ok := at[gw.NetworkID]; ok {
				pts = append(pts, models.Port{NetworkID: gw.NetworkID, FixedIPs: gw.ExternalFixedIPs})
			}
		}
		if len(pts) == 0 {
			continue
		}
		name := r.Name
		if name == "" {
			name = short(r.ID)
		}
		n := len(t.Insts) + len(t.Routers)
		tr := TopoInst{ID: r.ID, Name: name, Status: r.Status, X: topoLabelW + topoMargin + n*(topoBoxW+topoGap)}
		for _, pt := range pts {
			y := at[pt.NetworkID]
			tr.Links = append(tr.Links, TopoLink{X: tr.CenterX(), Y: y, Addr: FixedIPs(pt)})
			tr.LineEnd = max(tr.LineEnd, y)
		}
		t.Routers = append(t.Routers, tr)
	}
	t.Width = max(topoLabelW+topoMargin+(len(t.Insts)+len(t.Routers))*(topoBoxW+topoGap)+topoMargin, 480)
	t.Height = topoNetTop + max(len(rows)-1, 0)*topoNetGap + 30
	return t
}

func displayNetName(n models.Network) string {
	if n.Name != "" {
		return n.Name
	}
	return short(n.ID)
}
