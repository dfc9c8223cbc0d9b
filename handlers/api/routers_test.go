package api_test

import (
	"net/http"
	"strings"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// TestRoutersAPI: an operator's external network, a tenant's router with
// a gateway and an interface, a floating IP refused until the router
// exists, associated, shown in the instance's addresses, moved off and
// released; every answer checked against the OpenAPI document.
func TestRoutersAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		e := setup(t, s)
		admin, demo := e.admin(), e.demo()
		other := e.tenant("other", "olga")

		want(t, e.do(http.MethodPost, "/networks", demo, map[string]any{"name": "mine", "router:external": true}), http.StatusForbidden, "forbidden")
		ext := e.do(http.MethodPost, "/networks", admin, map[string]any{"name": "public", "router:external": true})
		want(t, ext, http.StatusCreated, "")
		want(t, e.do(http.MethodPost, "/subnets", admin, map[string]any{"network_id": ext.str("id"), "cidr": "203.0.113.0/24", "enable_dhcp": false}), http.StatusCreated, "")
		n := e.do(http.MethodPost, "/networks", demo, map[string]any{"name": "net1"})
		want(t, n, http.StatusCreated, "")
		sn := e.do(http.MethodPost, "/subnets", demo, map[string]any{"network_id": n.str("id"), "cidr": "10.0.0.0/24"})
		want(t, sn, http.StatusCreated, "")
		port := e.do(http.MethodPost, "/ports", demo, map[string]any{"network_id": n.str("id")})
		want(t, port, http.StatusCreated, "")

		fip := e.do(http.MethodPost, "/floating-ips", demo, map[string]any{"floating_network_id": "public"})
		want(t, fip, http.StatusCreated, "")
		if fip.body["port_id"] != nil || fip.str("floating_ip_address") != "203.0.113.2" || fip.str("status") != "DOWN" {
			t.Fatalf("floating IP: %s", fip.raw)
		}
		assoc := e.do(http.MethodPatch, "/floating-ips/"+fip.str("id"), demo, map[string]any{"port_id": port.str("id")})
		want(t, assoc, http.StatusConflict, "conflict")
		if !strings.Contains(string(assoc.raw), "no router joins network net1") {
			t.Fatalf("the 409 must say which router is missing: %s", assoc.raw)
		}

		bad := e.do(http.MethodPost, "/routers", demo, map[string]any{"name": "r1", "external_gateway_info": map[string]any{"network_id": n.str("id")}})
		want(t, bad, http.StatusUnprocessableEntity, "invalid")
		if bad.field("external_gateway_info.network_id") == "" {
			t.Errorf("gateway on an internal network: %s", bad.raw)
		}
		r := e.do(http.MethodPost, "/routers", demo, map[string]any{"name": "r1", "external_gateway_info": map[string]any{"network_id": ext.str("id")}})
		want(t, r, http.StatusCreated, "")
		if _, ok := r.body["host"]; ok {
			t.Errorf("a tenant sees the router's host: %s", r.raw)
		}
		info := e.do(http.MethodPut, "/routers/r1/add_router_interface", demo, map[string]any{"subnet_id": sn.str("id")})
		want(t, info, http.StatusOK, "")
		if info.str("subnet_id") != sn.str("id") || info.str("port_id") == "" {
			t.Fatalf("interface: %s", info.raw)
		}
		want(t, e.do(http.MethodPut, "/routers/r1/add_router_interface", other, map[string]any{"subnet_id": sn.str("id")}), http.StatusNotFound, "not_found")
		want(t, e.do(http.MethodDelete, "/subnets/"+sn.str("id"), demo, nil), http.StatusConflict, "conflict")
		want(t, e.do(http.MethodDelete, "/routers/r1", demo, nil), http.StatusConflict, "conflict")

		assoc = e.do(http.MethodPatch, "/floating-ips/203.0.113.2", demo, map[string]any{"port_id": port.str("id")})
		want(t, assoc, http.StatusOK, "")
		if assoc.str("status") != "ACTIVE" || assoc.str("router_id") != r.str("id") || assoc.str("fixed_ip_address") != "10.0.0.2" {
			t.Fatalf("associated: %s", assoc.raw)
		}
		want(t, e.do(http.MethodGet, "/floating-ips/"+fip.str("id"), other, nil), http.StatusNotFound, "not_found")
		list := e.do(http.MethodGet, "/floating-ips?port_id="+port.str("id"), demo, nil)
		want(t, list, http.StatusOK, "")
		if len(list.body["floating_ips"].([]any)) != 1 {
			t.Fatalf("floating IPs of the port: %s", list.raw)
		}
		dis := e.do(http.MethodPatch, "/floating-ips/"+fip.str("id"), demo, map[string]any{"port_id": nil})
		want(t, dis, http.StatusOK, "")
		if dis.body["port_id"] != nil {
			t.Fatalf("disassociated: %s", dis.raw)
		}
		want(t, e.do(http.MethodDelete, "/floating-ips/"+fip.str("id"), demo, nil), http.StatusNoContent, "")
		want(t, e.do(http.MethodPut, "/routers/r1/remove_router_interface", demo, map[string]any{"subnet_id": sn.str("id")}), http.StatusOK, "")
		cleared := e.do(http.MethodPatch, "/routers/r1", demo, map[string]any{"external_gateway_info": nil})
		want(t, cleared, http.StatusOK, "")
		if cleared.body["external_gateway_info"] != nil {
			t.Fatalf("gateway cleared: %s", cleared.raw)
		}
		want(t, e.do(http.MethodDelete, "/routers/r1", demo, nil), http.StatusNoContent, "")
	})
}
