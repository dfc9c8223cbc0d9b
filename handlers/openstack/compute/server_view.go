package compute

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"stratus/models"
)

// novaTime is how Nova writes created/updated: seconds, Z.
func novaTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// novaLaunched is how Nova writes OS-SRV-USG times: microseconds, no zone.
func novaLaunched(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000")
}

// powerStates are Nova's power_state numbers.
var powerStates = map[models.PowerState]int{
	models.PowerNoState: 0, models.PowerRunning: 1, models.PowerPaused: 3,
	models.PowerShutdown: 4, models.PowerCrashed: 6, models.PowerSuspended: 7,
}

// hostID is Nova's hostId: a hash of the project and the host, which tells
// a tenant whether two of its servers share a host without naming it.
func hostID(i models.Instance) string {
	if i.Host == "" {
		return ""
	}
	sum := sha256.Sum224([]byte(i.ProjectID + i.Host))
	return hex.EncodeToString(sum[:])
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// link is one of the links Nova puts on every resource.
type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// links are the self and bookmark links of a resource.
func (c *Compute) links(r *http.Request, kind, id string) []link {
	return linksAt(c.BaseURL(r)+Prefix, kind, id)
}

func linksAt(base, kind, id string) []link {
	return []link{{"self", base + "/v2.1/" + kind + "/" + id}, {"bookmark", base + "/" + kind + "/" + id}}
}

// bookmark is the single link Nova puts on a server's image and flavor.
func bookmark(base, kind, id string) []link {
	return []link{{"bookmark", base + "/" + kind + "/" + id}}
}

// JSON null, for attributes a microversion adds with no value in Stratus
// (present as null from that version on, absent before).
var null = json.RawMessage("null")

// server is Nova's server. A struct rather than a map, because a page of
// servers is encoded on every list: attributes a microversion adds are
// pointers (or raw JSON) left nil below it, and omitted.
type server struct {
	ID           string                   `json:"id"`
	Name         string                   `json:"name"`
	Status       string                   `json:"status"`
	TenantID     string                   `json:"tenant_id"`
	UserID       string                   `json:"user_id"`
	Metadata     struct{}                 `json:"metadata"`
	HostID       string                   `json:"hostId"`
	Image        resourceRef              `json:"image"`
	Flavor       any                      `json:"flavor"`
	Created      string                   `json:"created"`
	Updated      string                   `json:"updated"`
	Addresses    map[string][]novaAddress `json:"addresses"`
	AccessIPv4   string                   `json:"accessIPv4"`
	AccessIPv6   string                   `json:"accessIPv6"`
	Links        []link                   `json:"links"`
	DiskConfig   string                   `json:"OS-DCF:diskConfig"`
	ConfigDrive  string                   `json:"config_drive"`
	KeyName      *string                  `json:"key_name"`
	AZ           string                   `json:"OS-EXT-AZ:availability_zone"`
	LaunchedAt   any                      `json:"OS-SRV-USG:launched_at"`
	TerminatedAt any                      `json:"OS-SRV-USG:terminated_at"`
	TaskState    *string                  `json:"OS-EXT-STS:task_state"`
	VMState      string                   `json:"OS-EXT-STS:vm_state"`
	PowerState   int                      `json:"OS-EXT-STS:power_state"`
	Volumes      []volumeAttached         `json:"os-extended-volumes:volumes_attached"`
	Progress     int                      `json:"progress"`
	Fault        *fault                   `json:"fault,omitempty"`
	// SecurityGroups are the groups of the server's ports (single-server
	// answers; Nova leaves the key out for a server without ports).
	SecurityGroups []map[string]string `json:"security_groups,omitempty"`
	*operatorAttrs                     // operators only
	Locked         *bool               `json:"locked,omitempty"`                     // 2.9
	Description    json.RawMessage     `json:"description,omitempty"`                // 2.19
	Tags           *[]string           `json:"tags,omitempty"`                       // 2.26
	TrustedCerts   json.RawMessage     `json:"trusted_image_certificates,omitempty"` // 2.63
	ServerGroups   *[]string           `json:"server_groups,omitempty"`              // 2.71, single server
	LockedReason   json.RawMessage     `json:"locked_reason,omitempty"`              // 2.73
}

// operatorAttrs are the OS-EXT-SRV-ATTR attributes (and host_status) only
// operators see.
type operatorAttrs struct {
	Host           *string         `json:"OS-EXT-SRV-ATTR:host"`
	Hypervisor     *string         `json:"OS-EXT-SRV-ATTR:hypervisor_hostname"`
	InstanceName   string          `json:"OS-EXT-SRV-ATTR:instance_name"`
	ReservationID  *string         `json:"OS-EXT-SRV-ATTR:reservation_id,omitempty"` // 2.3 …
	LaunchIndex    *int            `json:"OS-EXT-SRV-ATTR:launch_index,omitempty"`
	Hostname       *string         `json:"OS-EXT-SRV-ATTR:hostname,omitempty"`
	KernelID       *string         `json:"OS-EXT-SRV-ATTR:kernel_id,omitempty"`
	RamdiskID      *string         `json:"OS-EXT-SRV-ATTR:ramdisk_id,omitempty"`
	RootDeviceName *string         `json:"OS-EXT-SRV-ATTR:root_device_name,omitempty"`
	UserData       json.RawMessage `json:"OS-EXT-SRV-ATTR:user_data,omitempty"` // … 2.3
	HostStatus     *string         `json:"host_status,omitempty"`               // 2.16
}

type resourceRef struct {
	ID    string `json:"id"`
	Links []link `json:"links"`
}

// embeddedFlavor is the flavor a server was built with (2.47).
type embeddedFlavor struct {
	VCPUs        int      `json:"vcpus"`
	RAM          int      `json:"ram"`
	Disk         int      `json:"disk"`
	Ephemeral    int      `json:"ephemeral"`
	Swap         int      `json:"swap"`
	OriginalName string   `json:"original_name"`
	ExtraSpecs   struct{} `json:"extra_specs"`
}

// volumeAttached is an entry of os-extended-volumes:volumes_attached
// (delete_on_termination from 2.3 on).
type volumeAttached struct {
	ID                  string `json:"id"`
	DeleteOnTermination *bool  `json:"delete_on_termination,omitempty"`
}

type fault struct {
	Code    int    `json:"code"`
	Created string `json:"created"`
	Message string `json:"message"`
}

// serverView renders instances as Nova's servers at the request's
// microversion, for one caller.
type serverView struct {
	base   string // public URL + /compute
	caller *models.Caller
	v      Version
	hosts  map[string]models.Host // operators at 2.16+: for host_status
	// addrs are the servers' addresses by network, vols their volume
	// attachments (loadAddresses).
	addrs map[string]map[string][]models.Address
	vols  map[string][]models.VolumeAttachment
}

// loadAddresses reads the addresses and the attached volumes of a page of
// servers, one query each.
func (sv *serverView) loadAddresses(r *http.Request, store *models.Store, insts []models.Instance) error {
	ids := make([]string, len(insts))
	for i, inst := range insts {
		ids[i] = inst.ID
	}
	addrs, err := store.InstanceAddresses(r.Context(), ids)
	if err != nil {
		return err
	}
	vols, err := store.InstancesVolumeAttachments(r.Context(), ids)
	sv.addrs, sv.vols = addrs, vols
	return err
}

// volumesAttached is a server's os-extended-volumes:volumes_attached.
func (sv serverView) volumesAttached(id string) []volumeAttached {
	out := make([]volumeAttached, 0, len(sv.vols[id]))
	for _, a := range sv.vols[id] {
		v := volumeAttached{ID: a.VolumeID}
		if sv.v.AtLeast(2, 3) {
			v.DeleteOnTermination = &a.DeleteOnTermination
		}
		out = append(out, v)
	}
	return out
}

func (c *Compute) newServerView(r *http.Request, caller *models.Caller) (serverView, error) {
	sv := serverView{base: c.BaseURL(r) + Prefix, caller: caller, v: versionOf(r)}
	if caller.IsSystemAdmin() && sv.v.AtLeast(2, 16) {
		hosts, err := c.Store.ListHosts(r.Context())
		if err != nil {
			return sv, err
		}
		sv.hosts = make(map[string]models.Host, len(hosts))
		for _, h := range hosts {
			sv.hosts[h.Name] = h
		}
	}
	return sv, nil
}

// briefServer is the list entry of GET /servers.
type briefServer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Links []link `json:"links"`
}

func (sv serverView) brief(i models.Instance) briefServer {
	return briefServer{ID: i.ID, Name: i.Name, Links: linksAt(sv.base, "servers", i.ID)}
}

func str(s string) *string { return &s }

func (sv serverView) full(i models.Instance, withGroups bool) server {
	v := sv.v
	s := server{
		ID: i.ID, Name: i.Name, Status: i.Status(), TenantID: i.ProjectID, UserID: i.UserID, HostID: hostID(i),
		Image:   resourceRef{ID: i.ImageID, Links: bookmark(sv.base, "images", i.ImageID)},
		Created: novaTime(i.CreatedAt), Updated: novaTime(i.UpdatedAt),
		Links:      linksAt(sv.base, "servers", i.ID),
		DiskConfig: "MANUAL", ConfigDrive: "True", AZ: i.AvailabilityZone,
		LaunchedAt: novaLaunched(i.LaunchedAt), TerminatedAt: novaLaunched(i.DeletedAt),
		VMState: string(i.VMState), PowerState: powerStates[i.PowerState], Volumes: sv.volumesAttached(i.ID), Progress: progress(i),
		Addresses: novaAddresses(sv.addrs[i.ID]),
	}
	if v.AtLeast(2, 47) {
		s.Flavor = embeddedFlavor{VCPUs: i.VCPUs, RAM: i.RAMMB, Disk: i.DiskGB, Ephemeral: i.EphemeralGB, OriginalName: i.FlavorName}
	} else {
		s.Flavor = resourceRef{ID: i.FlavorID, Links: bookmark(sv.base, "flavors", i.FlavorID)}
	}
	if i.KeyPairName != "" {
		s.KeyName = str(i.KeyPairName)
	}
	if i.TaskState != models.TaskNone {
		s.TaskState = str(string(i.TaskState))
	}
	if sv.caller.IsSystemAdmin() {
		op := &operatorAttrs{InstanceName: "stratus-" + i.ID}
		if i.Host != "" {
			op.Host, op.Hypervisor = str(i.Host), str(i.Host)
		}
		if v.AtLeast(2, 3) {
			zero := 0
			op.ReservationID, op.LaunchIndex, op.Hostname = str(""), &zero, str(i.Name)
			op.KernelID, op.RamdiskID, op.RootDeviceName, op.UserData = str(""), str(""), str("/dev/vda"), null
		}
		if v.AtLeast(2, 16) {
			op.HostStatus = str(sv.hostStatus(i))
		}
		s.operatorAttrs = op
	}
	if v.AtLeast(2, 9) {
		locked := false
		s.Locked = &locked
	}
	if v.AtLeast(2, 19) {
		s.Description = null
	}
	if v.AtLeast(2, 26) {
		s.Tags = &[]string{}
	}
	if v.AtLeast(2, 63) {
		s.TrustedCerts = null
	}
	if v.AtLeast(2, 73) {
		s.LockedReason = null
	}
	if withGroups && v.AtLeast(2, 71) {
		groups := []string{}
		if i.ServerGroupID != "" {
			groups = append(groups, i.ServerGroupID)
		}
		s.ServerGroups = &groups
	}
	if i.FaultMessage != "" && (i.VMState == models.VMError || i.VMState == models.VMDeleted) {
		at := i.UpdatedAt
		if i.FaultAt != nil {
			at = *i.FaultAt
		}
		s.Fault = &fault{Code: 500, Created: novaTime(at), Message: i.FaultMessage}
	}
	return s
}

// progress is Nova's build progress: 100 once built, else 0.
func progress(i models.Instance) int {
	if i.VMState == models.VMBuilding {
		return 0
	}
	return 100
}

// hostStatus is Nova's host_status (2.16, operators): UP, DOWN,
// MAINTENANCE (disabled) or "" (not placed).
func (sv serverView) hostStatus(i models.Instance) string {
	h, ok := sv.hosts[i.Host]
	switch {
	case i.Host == "" || !ok:
		return ""
	case !h.Enabled:
		return "MAINTENANCE"
	case !h.Up:
		return "DOWN"
	}
	return "UP"
}
