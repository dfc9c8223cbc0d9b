package api_test

import (
	"net/http"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// TestNetworkingAPI walks a tenant through networks, subnets, ports and
// security groups, checking bad input names its field and writes nothing,
// and that another project sees none of it. Every answer is checked
// against the OpenAPI document by e.do.
func TestNetworkingAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		demo := e.demo()
		other := e.tenant("other", "olga")

		n := e.do(http.MethodPost, "/networks", demo, map[string]any{"name": "net1"})
		want(t, n, http.StatusCreated, "")
		if n.body["mtu"] != float64(1450) || n.body["provider:segmentation_id"] != nil {
			t.Errorf("network (a tenant sees no segment): %s", n.raw)
		}
		netID := n.str("id")
		shared := e.do(http.MethodPost, "/networks", demo, map[string]any{"name": "pub", "shared": true})
		want(t, shared, http.StatusForbidden, "forbidden")

		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"network_id": netID, "cidr": "10.0.0.1/24"}, "cidr"},
			{map[string]any{"network_id": netID, "cidr": "10.0.0.0/33"}, "cidr"},
			{map[string]any{"network_id": netID, "cidr": "fd00::/64"}, "cidr"},
			{map[string]any{"network_id": netID, "cidr": "10.0.0.0/24", "allocation_pools": []map[string]string{{"start": "10.1.0.2", "end": "10.1.0.9"}}}, "allocation_pools[0]"},
			{map[string]any{"network_id": netID, "cidr": "10.0.0.0/24", "gateway_ip": 5}, "gateway_ip"},
		} {
			r := e.do(http.MethodPost, "/subnets", demo, tc.body)
			want(t, r, http.StatusUnprocessableEntity, "invalid")
			if r.field(tc.field) == "" {
				t.Errorf("%v: no problem on %s: %s", tc.body, tc.field, r.raw)
			}
		}
		sn := e.do(http.MethodPost, "/subnets", demo, map[string]any{"network_id": netID, "cidr": "10.0.0.0/29", "gateway_ip": nil,
			"dns_nameservers": []string{"192.0.2.53"}})
		want(t, sn, http.StatusCreated, "")
		if sn.body["gateway_ip"] != nil {
			t.Errorf("gateway_ip null: %s", sn.raw)
		}
		if got := e.do(http.MethodGet, "/networks/net1", demo, nil); len(got.body["subnets"].([]any)) != 1 {
			t.Errorf("network's subnets: %s", got.raw)
		}

		p := e.do(http.MethodPost, "/ports", demo, map[string]any{"network_id": netID, "fixed_ips": []map[string]string{{"ip_address": "10.0.0.9"}}})
		want(t, p, http.StatusUnprocessableEntity, "invalid")
		if p.field("fixed_ips[0].ip_address") == "" {
			t.Errorf("address outside the subnet: %s", p.raw)
		}
		p = e.do(http.MethodPost, "/ports", demo, map[string]any{"network_id": netID, "fixed_ips": []map[string]string{{"ip_address": "10.0.0.3"}}})
		want(t, p, http.StatusCreated, "")
		if p.str("status") != "DOWN" || p.body["binding:host_id"] != nil || len(p.body["security_groups"].([]any)) != 1 {
			t.Errorf("port: %s", p.raw)
		}
		taken := e.do(http.MethodPost, "/ports", demo, map[string]any{"network_id": netID, "fixed_ips": []map[string]string{{"ip_address": "10.0.0.3"}}})
		want(t, taken, http.StatusUnprocessableEntity, "invalid")
		for range 5 { // .1 .2 .4 .5 .6: the /29 is then full
			want(t, e.do(http.MethodPost, "/ports", demo, map[string]any{"network_id": netID}), http.StatusCreated, "")
		}
		want(t, e.do(http.MethodPost, "/ports", demo, map[string]any{"network_id": netID}), http.StatusConflict, "conflict")

		g := e.do(http.MethodPost, "/security-groups", demo, map[string]any{"name": "web"})
		want(t, g, http.StatusCreated, "")
		rule := map[string]any{"security_group_id": g.str("id"), "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
		want(t, e.do(http.MethodPost, "/security-group-rules", demo, rule), http.StatusCreated, "")
		want(t, e.do(http.MethodPost, "/security-group-rules", demo, rule), http.StatusConflict, "conflict")
		rule["port_range_min"] = 30
		bad := e.do(http.MethodPost, "/security-group-rules", demo, rule)
		want(t, bad, http.StatusUnprocessableEntity, "invalid")
		if bad.field("port_range_min") == "" {
			t.Errorf("reversed range: %s", bad.raw)
		}
		groups := e.do(http.MethodGet, "/security-groups", demo, nil).list("security_groups")
		if len(groups) != 2 {
			t.Errorf("want default and web, got %d groups", len(groups))
		}

		// Another project sees none of it.
		for _, path := range []string{"/networks/" + netID, "/subnets/" + sn.str("id"), "/ports/" + p.str("id"), "/security-groups/" + g.str("id")} {
			want(t, e.do(http.MethodGet, path, other, nil), http.StatusNotFound, "not_found")
		}
		if got := e.do(http.MethodGet, "/networks", other, nil).list("networks"); len(got) != 0 {
			t.Errorf("another project lists %d networks", len(got))
		}
		want(t, e.do(http.MethodDelete, "/networks/"+netID, other, nil), http.StatusNotFound, "not_found")
		want(t, e.do(http.MethodDelete, "/networks/"+netID, demo, nil), http.StatusConflict, "conflict")

		// A launch on the network answers its addresses.
		img := e.activeImage(demo, map[string]any{"name": "img"}, diskImage(4096))
		want(t, e.do(http.MethodDelete, "/ports/"+p.str("id"), demo, nil), http.StatusNoContent, "")
		l := e.do(http.MethodPost, "/instances", demo, map[string]any{"name": "vm", "flavor": "m1.nano", "image": img,
			"networks": []map[string]string{{"network": "net1"}}, "security_groups": []string{"web"}})
		want(t, l, http.StatusAccepted, "")
		addrs := l.list("instances")[0]["addresses"].(map[string]any)["net1"].([]any)
		if a := addrs[0].(map[string]any); a["addr"] != "10.0.0.3" || a["type"] != "fixed" || a["mac"] == "" {
			t.Errorf("addresses: %v", addrs)
		}
		id := l.list("instances")[0]["id"].(string)
		sg := e.do(http.MethodGet, "/instances/"+id+"/security-groups", demo, nil).list("security_groups")
		if len(sg) != 1 || sg[0]["name"] != "web" {
			t.Errorf("instance groups: %v", sg)
		}
		set := e.do(http.MethodPut, "/instances/"+id+"/security-groups", demo, map[string]any{"security_groups": []string{"default", "web"}})
		want(t, set, http.StatusOK, "")
		if len(set.list("security_groups")) != 2 {
			t.Errorf("set groups: %s", set.raw)
		}
	})
}
