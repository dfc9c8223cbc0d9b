package models

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Quota resources.
const (
	QuotaInstances = "instances"
	QuotaVCPUs     = "vcpus"
	QuotaRAMMB     = "ram_mb"
	QuotaKeyPairs  = "keypairs"
	QuotaImages    = "images"

	QuotaNetworks           = "networks"
	QuotaSubnets            = "subnets"
	QuotaPorts              = "ports"
	QuotaSecurityGroups     = "security_groups"
	QuotaSecurityGroupRules = "security_group_rules"
	QuotaRouters            = "routers"
	QuotaFloatingIPs        = "floatingips"

	// Object storage (Swift's account quotas): bytes stored and objects.
	QuotaObjectBytes = "object_bytes"
	QuotaObjects     = "objects"
	// Block storage (Cinder's names): gigabytes counts volumes and
	// snapshots.
	QuotaVolumes   = "volumes"
	QuotaGigabytes = "gigabytes"
	QuotaSnapshots = "snapshots"
)

// QuotaResources lists the resources a quota limits.
func QuotaResources() []string {
	return []string{QuotaInstances, QuotaVCPUs, QuotaRAMMB, QuotaKeyPairs, QuotaImages,
		QuotaNetworks, QuotaSubnets, QuotaPorts, QuotaSecurityGroups, QuotaSecurityGroupRules,
		QuotaRouters, QuotaFloatingIPs,
		QuotaObjectBytes, QuotaObjects,
		QuotaVolumes, QuotaGigabytes, QuotaSnapshots}
}

// Unlimited is a quota limit that never refuses.
const Unlimited = -1

// DefaultQuotas are the limits of a project without overrides (Nova's
// defaults, more or less).
func DefaultQuotas() map[string]int64 {
	return map[string]int64{
		QuotaInstances: 10, QuotaVCPUs: 20, QuotaRAMMB: 51200, QuotaKeyPairs: 100, QuotaImages: 100,
		// Neutron's defaults.
		QuotaNetworks: 100, QuotaSubnets: 100, QuotaPorts: 500, QuotaSecurityGroups: 10, QuotaSecurityGroupRules: 100,
		QuotaRouters: 10, QuotaFloatingIPs: 50,
		QuotaObjectBytes: 100 << 30, QuotaObjects: 1000000,
		// Cinder's defaults.
		QuotaVolumes: 10, QuotaGigabytes: 1000, QuotaSnapshots: 10,
	}
}

// Usage is an amount of each quota resource: what a project uses, or what a
// request adds.
type Usage struct {
	Instances int64 `json:"instances"`
	VCPUs     int64 `json:"vcpus" gorm:"column:vcpus"`
	RAMMB     int64 `json:"ram_mb" gorm:"column:ram_mb"`
	KeyPairs  int64 `json:"keypairs"`
	Images    int64 `json:"images"`

	Networks           int64 `json:"networks"`
	Subnets            int64 `json:"subnets"`
	Ports              int64 `json:"ports"`
	SecurityGroups     int64 `json:"security_groups"`
	SecurityGroupRules int64 `json:"security_group_rules"`
	Routers            int64 `json:"routers"`
	FloatingIPs        int64 `json:"floatingips" gorm:"column:floatingips"`
	// ObjectBytes and Objects are summed from the containers' counters.
	ObjectBytes int64 `json:"object_bytes"`
	Objects     int64 `json:"objects"`
	Volumes     int64 `json:"volumes"`
	Gigabytes   int64 `json:"gigabytes"`
	Snapshots   int64 `json:"snapshots"`
}

func (u Usage) get(resource string) int64 {
	switch resource {
	case QuotaInstances:
		return u.Instances
	case QuotaVCPUs:
		return u.VCPUs
	case QuotaRAMMB:
		return u.RAMMB
	case QuotaKeyPairs:
		return u.KeyPairs
	case QuotaImages:
		return u.Images
	case QuotaNetworks:
		return u.Networks
	case QuotaSubnets:
		return u.Subnets
	case QuotaPorts:
		return u.Ports
	case QuotaSecurityGroups:
		return u.SecurityGroups
	case QuotaSecurityGroupRules:
		return u.SecurityGroupRules
	case QuotaRouters:
		return u.Routers
	case QuotaFloatingIPs:
		return u.FloatingIPs
	case QuotaObjectBytes:
		return u.ObjectBytes
	case QuotaObjects:
		return u.Objects
	case QuotaVolumes:
		return u.Volumes
	case QuotaGigabytes:
		return u.Gigabytes
	case QuotaSnapshots:
		return u.Snapshots
	}
	return 0
}

// QuotaLine is one resource's limit and use.
type QuotaLine struct {
	Resource string `json:"resource"`
	Limit    int64  `json:"limit"` // -1 = unlimited
	Used     int64  `json:"used"`
}

// Free is what remains (a large number when unlimited).
func (l QuotaLine) Free() int64 {
	if l.Limit == Unlimited {
		return 1 << 62
	}
	if l.Used >= l.Limit {
		return 0
	}
	return l.Limit - l.Used
}

// lockProject serialises quota-checked creations in one project: on MySQL
// it locks the project's row until the transaction ends; on SQLite the
// transaction already holds the database's write lock (BEGIN IMMEDIATE).
// It also refuses a project that does not exist.
func (s *Store) lockProject(tx *gorm.DB, projectID string) error {
	q := s.forUpdate(tx.Table("projects").Select("id").Where("id = ?", projectID))
	var ids []string
	if err := q.Scan(&ids).Error; err != nil {
		return fmt.Errorf("lock project: %w", err)
	}
	if len(ids) == 0 {
		return forbidden("choose a project first")
	}
	return nil
}

// projectUsage counts what a project uses now of the resources given, and
// of the others counted with them (all resources when none is given); the
// rest stays zero.
func (s *Store) projectUsage(tx *gorm.DB, projectID string, resources ...string) (Usage, error) {
	wants := func(rs ...string) bool {
		if len(resources) == 0 {
			return true
		}
		for _, r := range rs {
			if slices.Contains(resources, r) {
				return true
			}
		}
		return false
	}
	var u Usage
	if wants(QuotaInstances, QuotaVCPUs, QuotaRAMMB) {
		err := tx.Raw(`SELECT COUNT(*) AS instances, COALESCE(SUM(vcpus), 0) AS vcpus, COALESCE(SUM(ram_mb), 0) AS ram_mb
			FROM instances WHERE project_id = ? AND deleted_at IS NULL`, projectID).Scan(&u).Error
		if err != nil {
			return u, fmt.Errorf("count instance usage: %w", err)
		}
	}
	if wants(QuotaKeyPairs) {
		if err := tx.Raw("SELECT COUNT(*) FROM keypairs WHERE project_id = ?", projectID).Scan(&u.KeyPairs).Error; err != nil {
			return u, fmt.Errorf("count key pairs: %w", err)
		}
	}
	if wants(QuotaImages) {
		if err := tx.Raw("SELECT COUNT(*) FROM images WHERE project_id = ? AND status <> ?", projectID, ImageDeleted).Scan(&u.Images).Error; err != nil {
			return u, fmt.Errorf("count images: %w", err)
		}
	}
	if wants(QuotaNetworks, QuotaSubnets, QuotaPorts, QuotaSecurityGroups, QuotaSecurityGroupRules, QuotaRouters, QuotaFloatingIPs) {
		if err := networkUsage(tx, projectID, &u); err != nil {
			return u, err
		}
	}
	if wants(QuotaObjects, QuotaObjectBytes) {
		_, objects, bytes, err := objectTotals(tx, projectID)
		if err != nil {
			return u, err
		}
		u.Objects, u.ObjectBytes = objects, bytes
	}
	if wants(QuotaVolumes, QuotaGigabytes, QuotaSnapshots) {
		if err := s.volumeUsage(tx, projectID, &u); err != nil {
			return u, err
		}
	}
	return u, nil
}

// networkUsage adds a project's networking use to u, in one round trip.
func networkUsage(tx *gorm.DB, projectID string, u *Usage) error {
	var net struct {
		Networks, Subnets, Ports, SecurityGroups, SecurityGroupRules, Routers int64
		FloatingIPs                                                           int64 `gorm:"column:floatingips"`
	}
	err := tx.Raw(`SELECT (SELECT COUNT(*) FROM networks WHERE project_id = ?) AS networks,
		(SELECT COUNT(*) FROM subnets WHERE project_id = ?) AS subnets,
		(SELECT COUNT(*) FROM ports WHERE project_id = ? AND device_owner <> ?) AS ports,
		(SELECT COUNT(*) FROM security_groups WHERE project_id = ?) AS security_groups,
		(SELECT COUNT(*) FROM security_group_rules WHERE project_id = ?) AS security_group_rules,
		(SELECT COUNT(*) FROM routers WHERE project_id = ?) AS routers,
		(SELECT COUNT(*) FROM floating_ips WHERE project_id = ?) AS floatingips`,
		projectID, projectID, projectID, DeviceOwnerDHCP, projectID, projectID, projectID, projectID).
		Scan(&net).Error
	if err != nil {
		return fmt.Errorf("count network usage: %w", err)
	}
	u.Networks, u.Subnets, u.Ports, u.SecurityGroups, u.SecurityGroupRules, u.Routers, u.FloatingIPs =
		net.Networks, net.Subnets, net.Ports, net.SecurityGroups, net.SecurityGroupRules, net.Routers, net.FloatingIPs
	return nil
}

// defaultLimits are the limits of a project without rows of its own: the
// built-in defaults overridden by the cloud's.
func (s *Store) defaultLimits() map[string]int64 {
	limits := DefaultQuotas()
	for k, v := range s.opts.DefaultQuotas {
		limits[k] = v
	}
	return limits
}

// quotaLimits reads a project's limits: defaults overridden by its rows.
func (s *Store) quotaLimits(tx *gorm.DB, projectID string) (map[string]int64, error) {
	limits, err := s.limitsOf(tx, []string{projectID})
	if err != nil {
		return nil, err
	}
	return limits[projectID], nil
}

// QuotaLimitsOf reads the limits of several projects (operators' lists of
// every project's quotas) in one query, whatever their number: by project
// ID, each resource's limit, the defaults overridden by the project's rows.
func (s *Store) QuotaLimitsOf(ctx context.Context, projectIDs []string) (map[string]map[string]int64, error) {
	return s.limitsOf(s.db.WithContext(ctx), projectIDs)
}

// ProjectsWithOwnQuotas lists, by ID, the existing projects with a limit of
// their own (an operator's, even one equal to the default) for one of
// resources: Neutron's list of every project's quotas shows those only,
// the others having the defaults.
func (s *Store) ProjectsWithOwnQuotas(ctx context.Context, resources []string) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Table("quotas").Distinct("quotas.project_id").
		Joins("JOIN projects ON projects.id = quotas.project_id").
		Where("quotas.resource IN ?", resources).Order("quotas.project_id").Pluck("quotas.project_id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("projects with quotas of their own: %w", err)
	}
	return ids, nil
}

// limitsOf is quotaLimits for several projects, in one query on tx.
func (s *Store) limitsOf(tx *gorm.DB, projectIDs []string) (map[string]map[string]int64, error) {
	out := make(map[string]map[string]int64, len(projectIDs))
	for _, id := range projectIDs {
		out[id] = s.defaultLimits()
	}
	if len(projectIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ProjectID string
		Resource  string
		HardLimit int64
	}
	if err := tx.Raw("SELECT project_id, resource, hard_limit FROM quotas WHERE project_id IN ?", projectIDs).
		Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read quotas: %w", err)
	}
	for _, r := range rows {
		out[r.ProjectID][r.Resource] = r.HardLimit
	}
	return out, nil
}

// checkQuota refuses a request that would take the project over a limit.
// Call it after lockProject, in the transaction that creates the resources.
func (s *Store) checkQuota(tx *gorm.DB, projectID string, add Usage) error {
	limits, err := s.quotaLimits(tx, projectID)
	if err != nil {
		return err
	}
	// Only what the request adds to, under a limit, is counted (the rest
	// quotaOver does not look at).
	var counted []string
	for _, r := range QuotaResources() {
		if add.get(r) != 0 && limits[r] != Unlimited {
			counted = append(counted, r)
		}
	}
	if len(counted) == 0 {
		return nil
	}
	used, err := s.projectUsage(tx, projectID, counted...)
	if err != nil {
		return err
	}
	if ex, over := quotaOver(add, limits, used); over {
		return errorf(ErrQuotaExceeded, "quota exceeded for %s: requested %d, the project uses %d of %d", QuotaName(ex.Resource), ex.Want, ex.Used, ex.Limit)
	}
	return nil
}

// QuotaName is a quota resource (QuotaInstances, …) as an argument of a
// message: the API prints its code, the web console its label.
type QuotaName string

// quotaOver is the first resource a request of add would take over the
// project's limit (used: what it uses now), if any: the one rule the quota
// check and the launch form's flavor choices both follow.
func quotaOver(add Usage, limits map[string]int64, used Usage) (QuotaExcess, bool) {
	for _, r := range QuotaResources() {
		want := add.get(r)
		if want == 0 || limits[r] == Unlimited {
			continue
		}
		if used.get(r)+want > limits[r] {
			return QuotaExcess{Resource: r, Want: want, Used: used.get(r), Limit: limits[r]}, true
		}
	}
	return QuotaExcess{}, false
}

// ProjectQuotas returns each resource's limit and use for a project.
func (s *Store) ProjectQuotas(ctx context.Context, projectID string) ([]QuotaLine, error) {
	db := s.db.WithContext(ctx)
	limits, err := s.quotaLimits(db, projectID)
	if err != nil {
		return nil, err
	}
	used, err := s.projectUsage(db, projectID)
	if err != nil {
		return nil, err
	}
	out := make([]QuotaLine, 0, len(limits))
	for _, r := range QuotaResources() {
		out = append(out, QuotaLine{Resource: r, Limit: limits[r], Used: used.get(r)})
	}
	return out, nil
}

// SetQuotas overrides a project's limits (operators). -1 is unlimited.
func (s *Store) SetQuotas(ctx context.Context, c Caller, project string, limits map[string]int64) ([]QuotaLine, error) {
	pr, err := s.GetProject(ctx, project)
	if err != nil {
		return nil, err
	}
	p := Problems{}
	known := map[string]bool{}
	for _, r := range QuotaResources() {
		known[r] = true
	}
	keys := make([]string, 0, len(limits))
	for k, v := range limits {
		keys = append(keys, k)
		if !known[k] {
			p.Add(k, "is not a quota resource")
		} else if v < Unlimited {
			p.Add(k, "must be -1 (unlimited) or more")
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	sort.Strings(keys)
	err = s.tx(ctx, func(tx *gorm.DB) error {
		for _, k := range keys {
			err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "project_id"}, {Name: "resource"}},
				DoUpdates: clause.AssignmentColumns([]string{"hard_limit"}),
			}).Table("quotas").Create(map[string]any{"project_id": pr.ID, "resource": k, "hard_limit": limits[k]}).Error
			if err != nil {
				return fmt.Errorf("set quota %s: %w", k, err)
			}
		}
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%d", k, limits[k])
		}
		return s.audit(tx, c, AuditQuotaUpdate, OutcomeSuccess, "project", pr.ID, pr.Name, strings.Join(parts, " "))
	})
	if err != nil {
		return nil, err
	}
	return s.ProjectQuotas(ctx, pr.ID)
}

// ResetQuotas puts a project's limits of resources back to the defaults
// (operators): their rows go, so the project no longer has limits of its
// own for them (Neutron's list of every project's quotas then leaves it out
// once none of its networking rows is left). Resetting a resource without a
// row of its own is no error: it already has the default.
func (s *Store) ResetQuotas(ctx context.Context, c Caller, project string, resources []string) ([]QuotaLine, error) {
	pr, err := s.GetProject(ctx, project)
	if err != nil {
		return nil, err
	}
	p := Problems{}
	for _, r := range resources {
		if !slices.Contains(QuotaResources(), r) {
			p.Add(r, "is not a quota resource")
		}
	}
	if len(resources) == 0 {
		p.Add("resources", "name at least one quota resource")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	keys := slices.Clone(resources)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM quotas WHERE project_id = ? AND resource IN ?", pr.ID, keys).Error; err != nil {
			return fmt.Errorf("reset quotas: %w", err)
		}
		return s.audit(tx, c, AuditQuotaReset, OutcomeSuccess, "project", pr.ID, pr.Name, strings.Join(keys, " "))
	})
	if err != nil {
		return nil, err
	}
	return s.ProjectQuotas(ctx, pr.ID)
}
