package network

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

func urlParam(r *http.Request, name string) string { return chi.URLParam(r, name) }

// standard are the attributes every Neutron resource carries besides its
// own; Stratus keeps no tags or revisions, so they are constant.
type standard struct {
	TenantID       string   `json:"tenant_id"`
	Tags           []string `json:"tags"`
	RevisionNumber int      `json:"revision_number"`
}

func std(projectID string) standard { return standard{TenantID: projectID, Tags: []string{}} }

type networkView struct {
	models.Network
	standard
	AvailabilityZones   []string `json:"availability_zones"`
	AZHints             []string `json:"availability_zone_hints"`
	PortSecurityEnabled bool     `json:"port_security_enabled"`
	IsDefault           bool     `json:"is_default"`
	IPv4AddressScope    *string  `json:"ipv4_address_scope"`
	IPv6AddressScope    *string  `json:"ipv6_address_scope"`
}

func netView(c *models.Caller, n models.Network) networkView {
	if n.Subnets == nil {
		n.Subnets = []string{}
	}
	return networkView{Network: n.ForCaller(*c), standard: std(n.ProjectID), AvailabilityZones: []string{"nova"},
		AZHints: []string{}, PortSecurityEnabled: true}
}

type subnetView struct {
	models.Subnet
	standard
	HostRoutes      []any   `json:"host_routes"`
	IPv6RAMode      *string `json:"ipv6_ra_mode"`
	IPv6AddressMode *string `json:"ipv6_address_mode"`
	SubnetpoolID    *string `json:"subnetpool_id"`
	SegmentID       *string `json:"segment_id"`
	ServiceTypes    []any   `json:"service_types"`
}

func subView(s models.Subnet) subnetView {
	return subnetView{Subnet: s, standard: std(s.ProjectID), HostRoutes: []any{}, ServiceTypes: []any{}}
}

type portView struct {
	models.Port
	standard
	AllowedAddressPairs []any  `json:"allowed_address_pairs"`
	ExtraDHCPOpts       []any  `json:"extra_dhcp_opts"`
	VNICType            string `json:"binding:vnic_type"`
}

func prtView(c *models.Caller, p models.Port) portView {
	if p.FixedIPs == nil {
		p.FixedIPs = []models.FixedIP{}
	}
	if p.SecurityGroups == nil {
		p.SecurityGroups = []string{}
	}
	return portView{Port: p.ForCaller(*c), standard: std(p.ProjectID), AllowedAddressPairs: []any{}, ExtraDHCPOpts: []any{}, VNICType: "normal"}
}

type ruleView struct {
	models.SecurityGroupRule
	standard
	RemoteAddressGroupID *string `json:"remote_address_group_id"`
}

type groupView struct {
	models.SecurityGroup
	standard
	Rules []ruleView `json:"security_group_rules"`
}

func grpView(g models.SecurityGroup) groupView {
	rules := make([]ruleView, len(g.Rules))
	for i, r := range g.Rules {
		rules[i] = ruleView{SecurityGroupRule: r, standard: std(r.ProjectID)}
	}
	return groupView{SecurityGroup: g, standard: std(g.ProjectID), Rules: rules}
}

// listQuery is Neutron's paging (limit, marker) and the filters every
// collection takes: name, id and project_id/tenant_id, all exact. They go
// down to the model's list with the paging (opts.ExactName, match), as do
// each collection's own filters, so that a page holds matches only. Like
// Neutron, every exact filter may be repeated and matches any of its values
// (?id=a&id=b: a and b), the way openstacksdk and Horizon ask for several
// ports or networks at once.
type listQuery struct {
	opts  models.ListOptions
	match models.Match
	q     url.Values
}

func queryOf(r *http.Request) (listQuery, error) {
	sq := service.QueryOf(r)
	limit, err := sq.Limit(models.MaxPageSize)
	if err != nil {
		return listQuery{}, err
	}
	q := r.URL.Query()
	project := q["project_id"]
	if strings.Join(project, "") == "" {
		project = q["tenant_id"] // the older name of the same filter
	}
	lq := listQuery{opts: models.ListOptions{Limit: limit, Marker: q.Get("marker"), ExactName: q["name"]},
		match: models.Match{ID: q["id"], ProjectID: project}, q: q}
	return lq, nil
}

// all is every value of an exact filter: the model keeps the rows holding
// any of them, and empty ones filter nothing (Neutron drops them).
func (lq listQuery) all(name string) []string { return lq.q[name] }

// boolParam is a true/false filter: nil when absent, or when it asks for
// both (either value is every row). A value that is not a boolean is a 400
// naming the filter, as Neutron's.
func (lq listQuery) boolParam(name string) (*bool, error) {
	var asked [2]bool // false, true
	for _, v := range lq.q[name] {
		switch strings.ToLower(v) {
		case "":
		case "true", "1":
			asked[1] = true
		case "false", "0":
			asked[0] = true
		default:
			return nil, service.BadRequest("Invalid input for " + name + ": '" + v + "' cannot be converted to boolean.")
		}
	}
	if asked[0] == asked[1] {
		return nil, nil
	}
	return &asked[1], nil
}

// writeList renders a collection, with Neutron's next link when there is a
// next page.
func (n *Network) writeList(w http.ResponseWriter, r *http.Request, collection string, items any, next string) {
	body := map[string]any{collection: items}
	if next != "" {
		body[collection+"_links"] = n.NextLinks(r, next, 0)
	}
	service.WriteJSON(w, http.StatusOK, body)
}

// decodeBody reads {"<key>": {...}} into dst. A project other than the
// token's is refused: Stratus creates resources in the caller's project.
func decodeBody(w http.ResponseWriter, r *http.Request, c *models.Caller, key string, dst any) error {
	var env map[string]json.RawMessage
	if err := service.Decode(w, r, &env); err != nil {
		return err
	}
	raw, ok := env[key]
	if !ok {
		return service.BadRequest("Resource body required: {\"" + key + "\": {…}}.")
	}
	var owner struct {
		ProjectID string `json:"project_id"`
		TenantID  string `json:"tenant_id"`
	}
	_ = json.Unmarshal(raw, &owner)
	for _, p := range []string{owner.ProjectID, owner.TenantID} {
		if p != "" && p != c.ProjectID {
			return service.BadRequest("Stratus creates resources in the token's project: leave project_id out or give your own.")
		}
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return service.BadRequest("Invalid input for " + typ.Field + ": expected " + typ.Type.String() + ".")
		}
		return service.BadRequest("Invalid input for " + key + ": " + strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// notFound answers a model's not-found as Neutron does.
func notFound(err error, what, id string) error {
	if errors.Is(err, models.ErrNotFound) {
		return service.NotFound(what + " " + id + " could not be found.")
	}
	return err
}

func created(w http.ResponseWriter, key string, v any) error {
	service.WriteJSON(w, http.StatusCreated, map[string]any{key: v})
	return nil
}

func shown(w http.ResponseWriter, key string, v any) error {
	service.WriteJSON(w, http.StatusOK, map[string]any{key: v})
	return nil
}

func deleted(w http.ResponseWriter, err error, what, id string) error {
	if err != nil {
		return notFound(err, what, id)
	}
	service.Empty(w, http.StatusNoContent)
	return nil
}

// Networks.

func (n *Network) listNetworks(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	lq, err := queryOf(r)
	if err != nil {
		return err
	}
	f := models.NetworkFilter{ListOptions: lq.opts, Match: lq.match, AllProjects: n.Policy.Allowed(c, "network:network:list_all")}
	if f.Shared, err = lq.boolParam("shared"); err != nil {
		return err
	}
	if f.RouterExternal, err = lq.boolParam("router:external"); err != nil {
		return err
	}
	p, err := n.Store.ListNetworks(r.Context(), *c, f)
	if err != nil {
		return err
	}
	out := []networkView{}
	for _, x := range p.Items {
		out = append(out, netView(c, x))
	}
	n.writeList(w, r, "networks", out, p.NextMarker)
	return nil
}

func (n *Network) createNetwork(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	var in models.NetworkInput
	if err := decodeBody(w, r, c, "network", &in); err != nil {
		return err
	}
	x, err := n.Store.CreateNetwork(r.Context(), *c, in)
	if err != nil {
		return err
	}
	return created(w, "network", netView(c, x))
}

func (n *Network) getNetwork(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	x, err := n.Store.GetNetwork(r.Context(), *c, id)
	if err != nil {
		return notFound(err, "Network", id)
	}
	return shown(w, "network", netView(c, x))
}

func (n *Network) updateNetwork(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	// Another project's resource is 404 whatever the body says.
	if _, err := n.Store.GetNetwork(r.Context(), *c, id); err != nil {
		return notFound(err, "Network", id)
	}
	var in models.NetworkUpdate
	if err := decodeBody(w, r, c, "network", &in); err != nil {
		return err
	}
	x, err := n.Store.UpdateNetwork(r.Context(), *c, id, in)
	if err != nil {
		return notFound(err, "Network", id)
	}
	return shown(w, "network", netView(c, x))
}

func (n *Network) deleteNetwork(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	return deleted(w, n.Store.DeleteNetwork(r.Context(), *c, id), "Network", id)
}

// Subnets.

func (n *Network) listSubnets(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	lq, err := queryOf(r)
	if err != nil {
		return err
	}
	p, err := n.Store.ListSubnets(r.Context(), *c, models.SubnetFilter{ListOptions: lq.opts, Match: lq.match,
		NetworkID: lq.all("network_id"), CIDR: lq.all("cidr")})
	if err != nil {
		return err
	}
	out := []subnetView{}
	for _, x := range p.Items {
		out = append(out, subView(x))
	}
	n.writeList(w, r, "subnets", out, p.NextMarker)
	return nil
}

func (n *Network) createSubnet(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	var in models.SubnetInput
	if err := decodeBody(w, r, c, "subnet", &in); err != nil {
		return err
	}
	x, err := n.Store.CreateSubnet(r.Context(), *c, in)
	if err != nil {
		return err
	}
	return created(w, "subnet", subView(x))
}

func (n *Network) getSubnet(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	x, err := n.Store.GetSubnet(r.Context(), *c, id)
	if err != nil {
		return notFound(err, "Subnet", id)
	}
	return shown(w, "subnet", subView(x))
}

func (n *Network) updateSubnet(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	// Another project's resource is 404 whatever the body says.
	if _, err := n.Store.GetSubnet(r.Context(), *c, id); err != nil {
		return notFound(err, "Subnet", id)
	}
	var in models.SubnetUpdate
	if err := decodeBody(w, r, c, "subnet", &in); err != nil {
		return err
	}
	x, err := n.Store.UpdateSubnet(r.Context(), *c, id, in)
	if err != nil {
		return notFound(err, "Subnet", id)
	}
	return shown(w, "subnet", subView(x))
}

func (n *Network) deleteSubnet(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	return deleted(w, n.Store.DeleteSubnet(r.Context(), *c, id), "Subnet", id)
}

// Ports.

func (n *Network) listPorts(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	lq, err := queryOf(r)
	if err != nil {
		return err
	}
	f := models.PortFilter{ListOptions: lq.opts, Match: lq.match, NetworkID: lq.all("network_id"), DeviceID: lq.all("device_id"),
		DeviceOwner: lq.all("device_owner"), MACAddress: lq.all("mac_address"), AllProjects: n.Policy.Allowed(c, "network:network:list_all")}
	p, err := n.Store.ListPorts(r.Context(), *c, f)
	if err != nil {
		return err
	}
	out := []portView{}
	for _, x := range p.Items {
		out = append(out, prtView(c, x))
	}
	n.writeList(w, r, "ports", out, p.NextMarker)
	return nil
}

func (n *Network) createPort(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	var in models.PortInput
	if err := decodeBody(w, r, c, "port", &in); err != nil {
		return err
	}
	x, err := n.Store.CreatePort(r.Context(), *c, in)
	if err != nil {
		return err
	}
	return created(w, "port", prtView(c, x))
}

func (n *Network) getPort(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	x, err := n.Store.GetPort(r.Context(), *c, id)
	if err != nil {
		return notFound(err, "Port", id)
	}
	return shown(w, "port", prtView(c, x))
}

func (n *Network) updatePort(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	// Another project's resource is 404 whatever the body says.
	if _, err := n.Store.GetPort(r.Context(), *c, id); err != nil {
		return notFound(err, "Port", id)
	}
	var in models.PortUpdate
	if err := decodeBody(w, r, c, "port", &in); err != nil {
		return err
	}
	x, err := n.Store.UpdatePort(r.Context(), *c, id, in)
	if err != nil {
		return notFound(err, "Port", id)
	}
	return shown(w, "port", prtView(c, x))
}

func (n *Network) deletePort(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	return deleted(w, n.Store.DeletePort(r.Context(), *c, id), "Port", id)
}

// Security groups and rules.

func (n *Network) listSecurityGroups(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	lq, err := queryOf(r)
	if err != nil {
		return err
	}
	p, err := n.Store.ListSecurityGroups(r.Context(), *c, models.SecurityGroupFilter{ListOptions: lq.opts, Match: lq.match})
	if err != nil {
		return err
	}
	out := []groupView{}
	for _, x := range p.Items {
		out = append(out, grpView(x))
	}
	n.writeList(w, r, "security_groups", out, p.NextMarker)
	return nil
}

func (n *Network) createSecurityGroup(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	var in models.SecurityGroupInput
	if err := decodeBody(w, r, c, "security_group", &in); err != nil {
		return err
	}
	x, err := n.Store.CreateSecurityGroup(r.Context(), *c, in)
	if err != nil {
		return err
	}
	return created(w, "security_group", grpView(x))
}

func (n *Network) getSecurityGroup(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	x, err := n.Store.GetSecurityGroup(r.Context(), *c, id)
	if err != nil {
		return notFound(err, "Security group", id)
	}
	return shown(w, "security_group", grpView(x))
}

func (n *Network) updateSecurityGroup(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	// Another project's resource is 404 whatever the body says.
	if _, err := n.Store.GetSecurityGroup(r.Context(), *c, id); err != nil {
		return notFound(err, "Security group", id)
	}
	var in models.SecurityGroupUpdate
	if err := decodeBody(w, r, c, "security_group", &in); err != nil {
		return err
	}
	x, err := n.Store.UpdateSecurityGroup(r.Context(), *c, id, in)
	if err != nil {
		return notFound(err, "Security group", id)
	}
	return shown(w, "security_group", grpView(x))
}

func (n *Network) deleteSecurityGroup(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	return deleted(w, n.Store.DeleteSecurityGroup(r.Context(), *c, id), "Security group", id)
}

func (n *Network) listRules(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	lq, err := queryOf(r)
	if err != nil {
		return err
	}
	p, err := n.Store.ListSecurityGroupRules(r.Context(), *c, models.SecurityGroupRuleFilter{ListOptions: lq.opts, Match: lq.match,
		SecurityGroupID: lq.all("security_group_id"), Direction: lq.all("direction")})
	if err != nil {
		return notFound(err, "Security group", lq.q.Get("security_group_id"))
	}
	out := []ruleView{}
	for _, x := range p.Items {
		out = append(out, ruleView{SecurityGroupRule: x, standard: std(x.ProjectID)})
	}
	n.writeList(w, r, "security_group_rules", out, p.NextMarker)
	return nil
}

func (n *Network) createRule(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	var in models.SecurityGroupRuleInput
	if err := decodeBody(w, r, c, "security_group_rule", &in); err != nil {
		return err
	}
	x, err := n.Store.CreateSecurityGroupRule(r.Context(), *c, in)
	if err != nil {
		return err
	}
	return created(w, "security_group_rule", ruleView{SecurityGroupRule: x, standard: std(x.ProjectID)})
}

func (n *Network) getRule(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	x, err := n.Store.GetSecurityGroupRule(r.Context(), *c, id)
	if err != nil {
		return notFound(err, "Security group rule", id)
	}
	return shown(w, "security_group_rule", ruleView{SecurityGroupRule: x, standard: std(x.ProjectID)})
}

func (n *Network) deleteRule(w http.ResponseWriter, r *http.Request, c *models.Caller) error {
	id := urlParam(r, "id")
	return deleted(w, n.Store.DeleteSecurityGroupRule(r.Context(), *c, id), "Security group rule", id)
}
