package libvirt

import (
	stdnet "net"
	"net/netip"
	"strconv"

	"stratus/workers/virt"
)

// networkData is openstack/latest/network_data.json in Nova's shape
// (nova/virt/netutils.py): links are the NICs, networks their subnets
// ("ipv4_dhcp" when the subnet hands out the address by DHCP, else a
// static "ipv4" with its address, netmask and default route), services the
// DNS servers.
type networkData struct {
	Links    []ndLink    `json:"links"`
	Networks []ndNetwork `json:"networks"`
	Services []ndService `json:"services"`
}

type ndLink struct {
	ID          string `json:"id"`
	VIFID       string `json:"vif_id"`
	Type        string `json:"type"`
	MTU         *int   `json:"mtu"`
	EthernetMAC string `json:"ethernet_mac_address"`
}

type ndNetwork struct {
	ID        string      `json:"id"`
	Type      string      `json:"type"`
	Link      string      `json:"link"`
	NetworkID string      `json:"network_id"`
	IPAddress string      `json:"ip_address,omitempty"`
	Netmask   string      `json:"netmask,omitempty"`
	Routes    []ndRoute   `json:"routes,omitempty"`
	Services  []ndService `json:"services,omitempty"`
}

type ndRoute struct {
	Network string `json:"network"`
	Netmask string `json:"netmask"`
	Gateway string `json:"gateway"`
}

type ndService struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

// NetworkData describes an instance's NICs as Nova's config drive does.
func NetworkData(nics []virt.NIC) any {
	nd := networkData{Links: []ndLink{}, Networks: []ndNetwork{}, Services: []ndService{}}
	seenDNS := map[string]bool{}
	for _, n := range nics {
		l := ndLink{ID: n.Tap, VIFID: n.PortID, Type: "bridge", EthernetMAC: n.MAC}
		if n.MTU > 0 {
			mtu := n.MTU
			l.MTU = &mtu
		}
		nd.Links = append(nd.Links, l)
		for _, sn := range n.Subnets {
			net := ndNetwork{ID: "network" + strconv.Itoa(len(nd.Networks)), Link: n.Tap, NetworkID: n.NetworkID, Type: "ipv4_dhcp"}
			var svc []ndService
			for _, d := range sn.DNS {
				svc = append(svc, ndService{Type: "dns", Address: d})
				if !seenDNS[d] {
					seenDNS[d] = true
					nd.Services = append(nd.Services, ndService{Type: "dns", Address: d})
				}
			}
			if !sn.DHCP {
				net.Type, net.IPAddress, net.Services = "ipv4", sn.IP, svc
				if p, err := netip.ParsePrefix(sn.CIDR); err == nil {
					net.Netmask = stdnet.IP(stdnet.CIDRMask(p.Bits(), 32)).String()
				}
				if sn.Gateway != "" {
					net.Routes = []ndRoute{{Network: "0.0.0.0", Netmask: "0.0.0.0", Gateway: sn.Gateway}}
				}
			}
			nd.Networks = append(nd.Networks, net)
		}
	}
	return nd
}
