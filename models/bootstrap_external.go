package models

import (
	"context"
	"fmt"
	"net/netip"
)

// bootstrapExternal gives `stratus dev` an external network (router:external,
// owned by the admin project, DHCP off, the subnet's .1 as the outside's
// gateway and .10–.250 as the floating range) when none of that name
// exists, and the demo project a router from its network to it when the
// project has no router — so that a newcomer can give an instance a
// floating IP at once. A restart leaves what exists alone.
func (s *Store) bootstrapExternal(ctx context.Context, in BootstrapInput) error {
	admin, err := s.GetProject(ctx, in.AdminProject)
	if err != nil {
		return err
	}
	op := Caller{UserName: "bootstrap", ProjectID: admin.ID, ProjectName: admin.Name, ProjectRole: RoleAdmin, SystemRole: RoleAdmin}
	var ext Network
	err = s.db.WithContext(ctx).Where("name = ? AND router_external = ?", in.ExternalNetwork, true).Order("created_at").Limit(1).Find(&ext).Error
	if err != nil {
		return fmt.Errorf("find the external network: %w", err)
	}
	if ext.ID == "" {
		pfx, err := netip.ParsePrefix(in.ExternalCIDR)
		if err != nil || !pfx.Addr().Is4() || pfx.Bits() > 24 {
			return fmt.Errorf("external CIDR %q: want an IPv4 network of /24 or more", in.ExternalCIDR)
		}
		base := pfx.Masked().Addr().As4()
		at := func(last byte) string { a := base; a[3] = last; return netip.AddrFrom4(a).String() }
		off := false
		if ext, _, err = s.CreateNetworkWithSubnet(ctx, op, NetworkInput{Name: in.ExternalNetwork, RouterExternal: true},
			SubnetInput{Name: in.ExternalNetwork + "-subnet", CIDR: pfx.Masked().String(), EnableDHCP: &off, GatewayIP: NullString(at(1)),
				AllocationPools: []PoolRequest{{Start: at(10), End: at(250)}}}); err != nil {
			return fmt.Errorf("external network: %w", err)
		}
	}
	if in.DemoProject == "" || in.DemoRouter == "" {
		return nil
	}
	pr, err := s.GetProject(ctx, in.DemoProject)
	if err != nil {
		return err
	}
	var routers int64
	if err := s.db.WithContext(ctx).Model(&Router{}).Where("project_id = ?", pr.ID).Count(&routers).Error; err != nil {
		return fmt.Errorf("count the demo project's routers: %w", err)
	}
	if routers > 0 {
		return nil
	}
	demo := Caller{UserName: "bootstrap", ProjectID: pr.ID, ProjectName: pr.Name, ProjectRole: RoleMember}
	var sn Subnet
	err = s.db.WithContext(ctx).Joins("JOIN networks ON networks.id = subnets.network_id").
		Where("networks.project_id = ? AND networks.name = ?", pr.ID, in.DemoNetwork).Order("subnets.created_at").Limit(1).Find(&sn).Error
	if err != nil {
		return fmt.Errorf("the demo network's subnet: %w", err)
	}
	if sn.ID == "" {
		return nil // no demo network: nothing to route
	}
	r, err := s.CreateRouter(ctx, demo, RouterInput{Name: in.DemoRouter, ExternalGatewayInfo: &GatewayInput{NetworkID: ext.ID}})
	if err != nil {
		return fmt.Errorf("demo router: %w", err)
	}
	if _, err := s.AddRouterInterface(ctx, demo, r.ID, RouterInterfaceInput{SubnetID: sn.ID}); err != nil {
		return fmt.Errorf("demo router's interface: %w", err)
	}
	return nil
}
