package compute

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/openstack/service"
	"stratus/models"
)

// listFilter translates Nova's list query: name, status, paging (limit,
// marker), flavor, image, changes-since, and for operators all_tenants,
// project_id/tenant_id and host (which, as Nova's, narrows the caller's own
// project without all_tenants; others' host filters are ignored, as Nova
// ignores its admin-only filters). Filters Stratus has no data for (ip,
// locked, tags…) are ignored, as Nova ignores unknown ones before 2.75.
func (c *Compute) listFilter(r *http.Request, caller *models.Caller) (models.InstanceFilter, error) {
	q := service.QueryOf(r)
	limit, err := q.Limit(models.MaxPageSize)
	if err != nil {
		return models.InstanceFilter{}, err
	}
	f := models.InstanceFilter{
		ListOptions: models.ListOptions{Limit: limit, Marker: q.Get("marker"), Name: strings.Trim(q.Get("name"), "^$")},
		Status:      strings.ToUpper(q.Get("status")),
		FlavorID:    q.Get("flavor"), ImageID: lastSegment(q.Get("image")),
	}
	if cs := q.Get("changes-since"); cs != "" {
		t, err := time.Parse(time.RFC3339, cs)
		if err != nil {
			return f, service.BadRequest("Invalid changes-since value: use an ISO 8601 time such as 2030-01-02T15:04:05Z.")
		}
		f.ChangedSince = &t
	}
	if q.Bool("deleted") && caller.IsSystemAdmin() {
		f.Deleted = true
	}
	listAll := c.Policy.Allowed(caller, "compute:instance:list_all")
	if q.Bool("all_tenants") || q.Get("all_tenants") == "" && q.Has("all_tenants") {
		if !listAll {
			return f, service.Forbidden("Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed.")
		}
		f.AllProjects = true
	}
	if listAll {
		f.Host = q.Get("host")
	}
	// As Nova: project_id (tenant_id) picks a project among all_tenants';
	// without all_tenants the list is the caller's project whatever it says
	// (`openstack server list --project X` sends both).
	if f.AllProjects {
		f.ProjectID = q.Get("project_id") + q.Get("tenant_id")
	}
	return f, nil
}

// lastSegment accepts an ID or a link ending in one (imageRef, flavorRef).
func lastSegment(ref string) string {
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

func (c *Compute) pageOfServers(r *http.Request, caller *models.Caller) (models.Page[models.Instance], error) {
	f, err := c.listFilter(r, caller)
	if err != nil {
		return models.Page[models.Instance]{}, err
	}
	p, err := c.Store.ListInstances(r.Context(), *caller, f)
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		switch {
		case ve.Fields["status"] != "":
			return models.Page[models.Instance]{}, nil // Nova: an unknown status matches nothing
		case ve.Fields["marker"] != "":
			return p, service.BadRequest("marker [" + f.Marker + "] not found")
		}
	}
	return p, err
}

func (c *Compute) writeServers(w http.ResponseWriter, r *http.Request, caller *models.Caller, detail bool) error {
	p, err := c.pageOfServers(r, caller)
	if err != nil {
		return err
	}
	sv, err := c.newServerView(r, caller)
	if err != nil {
		return err
	}
	if detail {
		if err := sv.loadAddresses(r, c.Store, p.Items); err != nil {
			return err
		}
	}
	// Typed slices, not []any: a page of servers is encoded on every
	// list, and boxing each one would copy it to the heap.
	var out any
	if detail {
		full := make([]server, len(p.Items))
		for i, inst := range p.Items {
			full[i] = sv.full(inst, false)
		}
		out = full
	} else {
		brief := make([]briefServer, len(p.Items))
		for i, inst := range p.Items {
			brief[i] = sv.brief(inst)
		}
		out = brief
	}
	body := map[string]any{"servers": out}
	if l := c.NextLinks(r, p.NextMarker, 0); l != nil {
		body["servers_links"] = l
	}
	service.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (c *Compute) listServers(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	return c.writeServers(w, r, caller, false)
}

func (c *Compute) listServersDetail(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	return c.writeServers(w, r, caller, true)
}

// findServer is one of the caller's servers. Nova answers 404 for a
// deleted one, whoever asks.
func (c *Compute) findServer(r *http.Request, caller *models.Caller) (models.Instance, error) {
	id := chi.URLParam(r, "id")
	if !models.IsUUID(id) {
		return models.Instance{}, service.NotFound("Instance " + id + " could not be found.")
	}
	inst, err := c.Store.GetInstance(r.Context(), *caller, id)
	if errors.Is(err, models.ErrNotFound) || (err == nil && inst.VMState == models.VMDeleted) {
		return inst, service.NotFound("Instance " + id + " could not be found.")
	}
	return inst, err
}

func (c *Compute) writeServer(w http.ResponseWriter, r *http.Request, caller *models.Caller, status int, inst models.Instance) error {
	sv, err := c.newServerView(r, caller)
	if err != nil {
		return err
	}
	if err := sv.loadAddresses(r, c.Store, []models.Instance{inst}); err != nil {
		return err
	}
	s := sv.full(inst, true)
	if len(sv.addrs[inst.ID]) == 0 {
		// No port, so no security group: spare the queries (clients
		// poll a building server's show).
		service.WriteJSON(w, status, map[string]any{"server": s})
		return nil
	}
	groups, err := c.Store.InstanceSecurityGroups(r.Context(), *caller, inst.ID)
	if err != nil {
		return err
	}
	if len(groups) > 0 {
		names := make([]map[string]string, len(groups))
		for i, g := range groups {
			names[i] = map[string]string{"name": g.Name}
		}
		s.SecurityGroups = names
	}
	service.WriteJSON(w, status, map[string]any{"server": s})
	return nil
}

func (c *Compute) getServer(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	inst, err := c.findServer(r, caller)
	if err != nil {
		return err
	}
	return c.writeServer(w, r, caller, http.StatusOK, inst)
}

// updateServer is PUT /servers/{id}: Stratus servers have a name to change
// (no description, no access IPs).
func (c *Compute) updateServer(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	inst, err := c.findServer(r, caller)
	if err != nil {
		return err
	}
	var in struct {
		Server struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
			AccessIPv4  *string `json:"accessIPv4"`
			AccessIPv6  *string `json:"accessIPv6"`
		} `json:"server"`
	}
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	s := in.Server
	if s.Description != nil || s.AccessIPv4 != nil || s.AccessIPv6 != nil {
		return service.BadRequest("Stratus servers have a name to change, and no description or access IPs.")
	}
	if s.Name != nil {
		if inst, err = c.Store.RenameInstance(r.Context(), *caller, inst.ID, *s.Name); err != nil {
			return err
		}
	}
	return c.writeServer(w, r, caller, http.StatusOK, inst)
}

func (c *Compute) deleteServer(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	inst, err := c.findServer(r, caller)
	if err != nil {
		return err
	}
	if _, err := c.Store.DeleteInstance(r.Context(), *caller, inst.ID); err != nil {
		return err
	}
	service.Empty(w, http.StatusNoContent)
	return nil
}

// createRequest is POST /servers.
type createRequest struct {
	Server struct {
		Name             string                  `json:"name"`
		ImageRef         string                  `json:"imageRef"`
		FlavorRef        string                  `json:"flavorRef"`
		KeyName          string                  `json:"key_name"`
		UserData         *string                 `json:"user_data"`
		MinCount         *int                    `json:"min_count"`
		MaxCount         *int                    `json:"max_count"`
		AvailabilityZone string                  `json:"availability_zone"`
		Networks         any                     `json:"networks"`
		SecurityGroups   []struct{ Name string } `json:"security_groups"`
		BlockDevices     []struct {
			SourceType          string `json:"source_type"`
			DestinationType     string `json:"destination_type"`
			UUID                string `json:"uuid"`
			BootIndex           any    `json:"boot_index"`
			VolumeSize          int    `json:"volume_size"`
			VolumeType          string `json:"volume_type"`
			DeleteOnTermination bool   `json:"delete_on_termination"`
		} `json:"block_device_mapping_v2"`
		ReturnReservationID bool `json:"return_reservation_id"`
	} `json:"server"`
	Hints struct {
		Group string `json:"group"`
	} `json:"os:scheduler_hints"`
}

// createServer is POST /servers: Count is max_count (Nova creates between
// min and max as quota allows; Stratus creates all or none, so asking for
// more than the quota allows is refused whole).
func (c *Compute) createServer(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	var in createRequest
	if err := service.Decode(w, r, &in); err != nil {
		return err
	}
	s := in.Server
	ci := models.InstanceCreate{Name: s.Name, Flavor: lastSegment(s.FlavorRef), Image: lastSegment(s.ImageRef),
		KeyPair: s.KeyName, ServerGroup: in.Hints.Group, Count: 1}
	if err := networksOf(s.Networks, versionOf(r), &ci); err != nil {
		return err
	}
	for _, bd := range s.BlockDevices {
		// Boot from volume: the root (boot_index 0) is a volume, made
		// from an image or a snapshot, or an existing one.
		if bd.DestinationType == "volume" && fmt.Sprint(bd.BootIndex) == "0" {
			ci.BootVolume = &models.BootVolume{Source: bd.SourceType, ID: bd.UUID, SizeGB: bd.VolumeSize,
				VolumeType: bd.VolumeType, DeleteOnTermination: bd.DeleteOnTermination}
			if ci.Image == bd.UUID {
				ci.Image = ""
			}
			continue
		}
		if bd.SourceType != "" && bd.SourceType != "image" || bd.DestinationType == "volume" {
			return service.BadRequest("Stratus maps one block device: the root disk, from an image (local) or a volume " +
				"(boot_index 0, destination_type volume); attach other volumes after the build.")
		}
	}
	for _, sg := range s.SecurityGroups {
		if sg.Name != "" {
			ci.SecurityGroups = append(ci.SecurityGroups, sg.Name)
		}
	}
	if s.Name == "" {
		return service.BadRequest("Invalid input for field/attribute name: it is required.")
	}
	if s.FlavorRef == "" {
		return service.BadRequest("Invalid input for field/attribute flavorRef: it is required.")
	}
	if s.ImageRef == "" && ci.BootVolume == nil {
		return service.BadRequest("Invalid input for field/attribute imageRef: give an image, or a boot volume in block_device_mapping_v2.")
	}
	ci.AvailabilityZone, _, _ = strings.Cut(s.AvailabilityZone, ":") // zone:host pins a host for operators in Nova
	if s.UserData != nil {
		b, err := base64.StdEncoding.DecodeString(*s.UserData)
		if err != nil {
			return service.BadRequest("Invalid input for field/attribute user_data: it must be base64.")
		}
		ci.UserData = string(b)
	}
	if s.MinCount != nil && *s.MinCount < 1 || s.MaxCount != nil && *s.MaxCount < 1 {
		return service.BadRequest("min_count and max_count must be at least 1.")
	}
	if s.MaxCount != nil {
		ci.Count = *s.MaxCount
	} else if s.MinCount != nil {
		ci.Count = *s.MinCount
	}
	if s.MinCount != nil && *s.MinCount > ci.Count {
		return service.BadRequest("min_count must be <= max_count.")
	}
	insts, err := c.Store.CreateInstances(r.Context(), *caller, ci)
	if err != nil {
		return launchError(err)
	}
	if s.ReturnReservationID {
		service.WriteJSON(w, http.StatusAccepted, map[string]string{"reservation_id": "r-" + insts[0].ID[:8]})
		return nil
	}
	first := insts[0]
	groups := []map[string]string{}
	for _, g := range ci.SecurityGroups {
		groups = append(groups, map[string]string{"name": g})
	}
	if len(groups) == 0 && !ci.NoNetworks {
		groups = append(groups, map[string]string{"name": models.DefaultSecurityGroup})
	}
	w.Header().Set("Location", c.BaseURL(r)+Prefix+"/v2.1/servers/"+first.ID)
	service.WriteJSON(w, http.StatusAccepted, map[string]any{"server": map[string]any{
		"id": first.ID, "links": c.links(r, "servers", first.ID),
		"OS-DCF:diskConfig": "MANUAL", "security_groups": groups,
	}})
	return nil
}

// launchError names the Nova fields in a launch's validation error and
// answers a missing image or flavor as Nova does.
func launchError(err error) error {
	var ve *models.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	names := map[string]string{"flavor": "flavorRef", "image": "imageRef", "keypair": "key_name", "count": "max_count",
		"server_group": "os:scheduler_hints.group"}
	for k, msg := range ve.Fields {
		if strings.HasPrefix(k, "networks") && strings.Contains(msg, "no such network") {
			return service.BadRequest("Network could not be found: " + msg)
		}
		if strings.HasPrefix(k, "networks") && strings.Contains(msg, "no such port") {
			return service.BadRequest("Port could not be found: " + msg)
		}
		if strings.HasPrefix(k, "security_groups") {
			return service.BadRequest("Security group not found: " + msg)
		}
	}
	fields := map[string]string{}
	for k, msg := range ve.Fields {
		if n, ok := names[k]; ok {
			k = n
		}
		fields[k] = msg
	}
	switch {
	case ve.Fields["image"] == "no such image":
		return service.BadRequest("Can not find requested image")
	case ve.Fields["flavor"] == "no such flavor":
		return service.BadRequest("Flavor's disk is too small or the flavor could not be found: no such flavor")
	case ve.Fields["keypair"] != "":
		return service.BadRequest("Invalid key_name provided.")
	}
	return &models.ValidationError{Fields: fields}
}

// networksOf translates Nova's networks: absent (before 2.37) or "auto" is
// the model's choice — the project's only network, none when it has none;
// "none" is no NIC at all; a list names networks (uuid, with an optional
// fixed_ip) or ports. Microversion 2.37 made the field required.
func networksOf(n any, v Version, in *models.InstanceCreate) error {
	switch n := n.(type) {
	case nil:
		if v.AtLeast(2, 37) {
			return service.BadRequest("Invalid input for field/attribute networks: it is required (\"auto\", \"none\" or a list) since microversion 2.37.")
		}
	case string:
		if !v.AtLeast(2, 37) {
			return service.BadRequest("Invalid input for field/attribute networks: \"auto\" and \"none\" need microversion 2.37.")
		}
		switch n {
		case "auto":
		case "none":
			in.NoNetworks = true
		default:
			return service.BadRequest("Invalid input for field/attribute networks: must be \"auto\", \"none\" or a list.")
		}
	case []any:
		for _, item := range n {
			m, ok := item.(map[string]any)
			if !ok {
				return service.BadRequest("Invalid input for field/attribute networks: each item is an object with uuid, port or fixed_ip.")
			}
			var req models.NetworkRequest
			for key, dst := range map[string]*string{"uuid": &req.Network, "port": &req.Port, "fixed_ip": &req.FixedIP} {
				if val, ok := m[key]; ok && val != nil {
					str, ok := val.(string)
					if !ok {
						return service.BadRequest("Invalid input for field/attribute networks." + key + ": must be a string.")
					}
					*dst = str
				}
			}
			in.Networks = append(in.Networks, req)
		}
	default:
		return service.BadRequest("Invalid input for field/attribute networks.")
	}
	return nil
}

// serverIPs is GET /servers/{id}/ips: by network (none yet).
func (c *Compute) serverIPs(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	inst, err := c.findServer(r, caller)
	if err != nil {
		return err
	}
	addrs, err := c.Store.InstanceAddresses(r.Context(), []string{inst.ID})
	if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"addresses": novaAddresses(addrs[inst.ID])})
	return nil
}

// serverSecurityGroups is GET /servers/{id}/os-security-groups: the groups
// of the server's ports.
func (c *Compute) serverSecurityGroups(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	inst, err := c.findServer(r, caller)
	if err != nil {
		return err
	}
	groups, err := c.Store.InstanceSecurityGroups(r.Context(), *caller, inst.ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(groups))
	for i, g := range groups {
		out[i] = novaGroup(g)
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"security_groups": out})
	return nil
}

// novaGroup renders a security group in Nova's (nova-network) shape, with
// its ingress rules.
func novaGroup(g models.SecurityGroup) map[string]any {
	rules := make([]map[string]any, 0, len(g.Rules))
	for _, ru := range g.Rules {
		if ru.Direction != "ingress" {
			continue // Nova's view shows ingress rules only
		}
		rule := map[string]any{"id": ru.ID, "parent_group_id": g.ID, "ip_protocol": ru.ProtocolJSON,
			"from_port": ru.PortRangeMin, "to_port": ru.PortRangeMax, "group": map[string]any{}, "ip_range": map[string]any{}}
		if ru.RemoteIPJSON != nil {
			rule["ip_range"] = map[string]string{"cidr": *ru.RemoteIPJSON}
		}
		rules = append(rules, rule)
	}
	return map[string]any{"id": g.ID, "name": g.Name, "description": g.Description, "tenant_id": g.ProjectID, "rules": rules}
}

// listSecurityGroups is the os-security-groups proxy to the network
// service, which clients at microversions before 2.36 still call (the
// openstack CLI's server add security group).
func (c *Compute) listSecurityGroups(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	if versionOf(r).AtLeast(2, 36) {
		return service.NotFound("The os-security-groups proxy ends at microversion 2.35: use the network API.")
	}
	p, err := c.Store.ListSecurityGroups(r.Context(), *caller, models.SecurityGroupFilter{ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(p.Items))
	for i, g := range p.Items {
		out[i] = novaGroup(g)
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"security_groups": out})
	return nil
}

func (c *Compute) getSecurityGroup(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	if versionOf(r).AtLeast(2, 36) {
		return service.NotFound("The os-security-groups proxy ends at microversion 2.35: use the network API.")
	}
	id := chi.URLParam(r, "id")
	g, err := c.Store.GetSecurityGroup(r.Context(), *caller, id)
	if errors.Is(err, models.ErrNotFound) {
		return service.NotFound("Security group " + id + " not found.")
	} else if err != nil {
		return err
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"security_group": novaGroup(g)})
	return nil
}

// serverInterfaces is GET /servers/{id}/os-interface: the server's ports.
func (c *Compute) serverInterfaces(w http.ResponseWriter, r *http.Request, caller *models.Caller) error {
	inst, err := c.findServer(r, caller)
	if err != nil {
		return err
	}
	p, err := c.Store.ListPorts(r.Context(), *caller, models.PortFilter{DeviceID: []string{inst.ID}, AllProjects: c.Policy.Allowed(caller, "network:network:list_all"),
		ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(p.Items))
	for i, pt := range p.Items {
		ips := pt.FixedIPs
		if ips == nil {
			ips = []models.FixedIP{}
		}
		out[i] = map[string]any{"port_id": pt.ID, "net_id": pt.NetworkID, "mac_addr": pt.MACAddress, "port_state": pt.Status, "fixed_ips": ips}
	}
	service.WriteJSON(w, http.StatusOK, map[string]any{"interfaceAttachments": out})
	return nil
}

// novaAddress is one address of a server, as Nova shows it.
type novaAddress struct {
	Version int    `json:"version"`
	Addr    string `json:"addr"`
	Type    string `json:"OS-EXT-IPS:type"`
	MAC     string `json:"OS-EXT-IPS-MAC:mac_addr"`
}

// novaAddresses renders a server's addresses by network name.
func novaAddresses(byNet map[string][]models.Address) map[string][]novaAddress {
	out := make(map[string][]novaAddress, len(byNet))
	for name, addrs := range byNet {
		list := make([]novaAddress, len(addrs))
		for i, a := range addrs {
			list[i] = novaAddress{Version: a.Version, Addr: a.Addr, Type: a.Type, MAC: a.MAC}
		}
		out[name] = list
	}
	return out
}

// consoleURL is the web UI's console page of a server: noVNC, opened with a
// single-use token issued to the logged-in user.
func (c *Compute) consoleURL(r *http.Request, inst models.Instance) string {
	return c.BaseURL(r) + "/instances/" + url.PathEscape(inst.ID) + "/console"
}
