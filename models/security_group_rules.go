package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Rule directions, ethertypes and protocols (Neutron's words).
const (
	DirectionIngress = "ingress"
	DirectionEgress  = "egress"
	EthertypeIPv4    = "IPv4"
	ProtocolTCP      = "tcp"
	ProtocolUDP      = "udp"
	ProtocolICMP     = "icmp"
)

// SecurityGroupRule allows one kind of traffic into (ingress) or out of
// (egress) the group's ports. Protocol "" (null in JSON) is any protocol;
// no port range is every port. The remote end is an address prefix, the
// members of a group, or anywhere when neither is set.
type SecurityGroupRule struct {
	ID              string    `json:"id"`
	ProjectID       string    `json:"project_id"`
	SecurityGroupID string    `json:"security_group_id"`
	Direction       string    `json:"direction"`
	Ethertype       string    `json:"ethertype"`
	Protocol        string    `json:"-"`
	ProtocolJSON    *string   `json:"protocol" gorm:"-"`
	PortRangeMin    *int      `json:"port_range_min"`
	PortRangeMax    *int      `json:"port_range_max"`
	RemoteIPPrefix  string    `json:"-" gorm:"column:remote_ip_prefix"`
	RemoteGroupID   string    `json:"-"`
	RemoteIPJSON    *string   `json:"remote_ip_prefix" gorm:"-"`
	RemoteGroupJSON *string   `json:"remote_group_id" gorm:"-"`
	Description     string    `json:"description"`
	Fingerprint     string    `json:"-"`
	CreatedAt       time.Time `json:"created_at"`
}

// view fills the nullable JSON members from the stored columns.
func (r SecurityGroupRule) view() SecurityGroupRule {
	r.ProtocolJSON, r.RemoteIPJSON, r.RemoteGroupJSON = nonEmptyPtr(r.Protocol), nonEmptyPtr(r.RemoteIPPrefix), nonEmptyPtr(r.RemoteGroupID)
	return r
}

func nonEmptyPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// fingerprint identifies what a rule matches: two rules of a group with
// the same fingerprint are duplicates.
func (r SecurityGroupRule) fingerprint() string {
	pr := func(p *int) string {
		if p == nil {
			return "-"
		}
		return strconv.Itoa(*p)
	}
	key := strings.Join([]string{r.Direction, r.Ethertype, r.Protocol, pr(r.PortRangeMin), pr(r.PortRangeMax),
		r.RemoteIPPrefix, r.RemoteGroupID}, "|")
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// SecurityGroupRuleInput adds a rule to a group.
type SecurityGroupRuleInput struct {
	SecurityGroupID string  `json:"security_group_id"`
	Direction       string  `json:"direction"`
	Ethertype       string  `json:"ethertype,omitempty"` // IPv4 (the default)
	Protocol        *string `json:"protocol,omitempty"`  // tcp, udp, icmp, or a number 0–255; null for any
	PortRangeMin    *int    `json:"port_range_min,omitempty"`
	PortRangeMax    *int    `json:"port_range_max,omitempty"`
	RemoteIPPrefix  *string `json:"remote_ip_prefix,omitempty"`
	RemoteGroupID   *string `json:"remote_group_id,omitempty"`
	Description     string  `json:"description,omitempty"`
}

// checkRule validates a rule request and returns the rule it describes.
func checkRule(in SecurityGroupRuleInput) (SecurityGroupRule, error) {
	p := Problems{}
	r := SecurityGroupRule{Direction: in.Direction, Ethertype: in.Ethertype, Description: in.Description}
	p.Text("description", in.Description, 255)
	if r.Direction != DirectionIngress && r.Direction != DirectionEgress {
		p.Add("direction", "must be ingress or egress")
	}
	if r.Ethertype == "" {
		r.Ethertype = EthertypeIPv4
	}
	if r.Ethertype != EthertypeIPv4 {
		p.Add("ethertype", "only IPv4 is supported for now")
	}
	if in.Protocol != nil {
		switch pr := strings.ToLower(strings.TrimSpace(*in.Protocol)); pr {
		case "", "any":
		case ProtocolTCP, ProtocolUDP, ProtocolICMP:
			r.Protocol = pr
		case "6":
			r.Protocol = ProtocolTCP
		case "17":
			r.Protocol = ProtocolUDP
		case "1":
			r.Protocol = ProtocolICMP
		default:
			if n, err := strconv.Atoi(pr); err == nil && n >= 0 && n <= 255 {
				r.Protocol = pr
			} else {
				p.Add("protocol", "must be tcp, udp, icmp, a protocol number 0–255, or null for any")
			}
		}
	}
	r.PortRangeMin, r.PortRangeMax = in.PortRangeMin, in.PortRangeMax
	switch r.Protocol {
	case ProtocolTCP, ProtocolUDP:
		if (r.PortRangeMin == nil) != (r.PortRangeMax == nil) {
			p.Add("port_range_max", "give both ends of the port range, or neither")
		} else if r.PortRangeMin != nil {
			switch {
			case *r.PortRangeMin < 1 || *r.PortRangeMin > 65535:
				p.Add("port_range_min", "must be 1–65535")
			case *r.PortRangeMax < 1 || *r.PortRangeMax > 65535:
				p.Add("port_range_max", "must be 1–65535")
			case *r.PortRangeMin > *r.PortRangeMax:
				p.Add("port_range_min", "must not be greater than port_range_max")
			}
		}
	case ProtocolICMP:
		// Neutron reads the range as ICMP type and code; Stratus does not
		// filter on them yet, so it refuses them rather than ignore them.
		if r.PortRangeMin != nil || r.PortRangeMax != nil {
			p.Add("port_range_min", "icmp has no ports (ICMP type and code filters are not supported)")
		}
	default:
		if r.PortRangeMin != nil || r.PortRangeMax != nil {
			p.Add("port_range_min", "a port range needs protocol tcp or udp")
		}
	}
	if in.RemoteIPPrefix != nil && strings.TrimSpace(*in.RemoteIPPrefix) != "" {
		raw := strings.TrimSpace(*in.RemoteIPPrefix)
		if !strings.Contains(raw, "/") {
			raw += "/32"
		}
		pfx, err := netip.ParsePrefix(raw)
		switch {
		case err != nil:
			p.Add("remote_ip_prefix", "is not an IPv4 CIDR such as 203.0.113.0/24")
		case !pfx.Addr().Is4():
			p.Add("remote_ip_prefix", "only IPv4 is supported for now")
		case pfx.Masked() != pfx:
			p.Addf("remote_ip_prefix", "has host bits set: did you mean %s?", pfx.Masked())
		default:
			r.RemoteIPPrefix = pfx.String()
		}
	}
	if in.RemoteGroupID != nil && *in.RemoteGroupID != "" {
		if r.RemoteIPPrefix != "" || p.has("remote_ip_prefix") {
			p.Add("remote_group_id", "give remote_ip_prefix or remote_group_id, not both")
		} else if !IsUUID(*in.RemoteGroupID) {
			p.Add("remote_group_id", "is not a security group ID")
		} else {
			r.RemoteGroupID = *in.RemoteGroupID
		}
	}
	if r.RemoteIPPrefix == "0.0.0.0/0" {
		r.RemoteIPPrefix = "" // the same as anywhere: one fingerprint for both
	}
	return r, p.Err()
}

// CreateSecurityGroupRule adds a rule to one of the project's groups. A
// duplicate of an existing rule is refused (409); every host with a port
// in the group (or in a group whose rules name it) applies it within
// seconds.
func (s *Store) CreateSecurityGroupRule(ctx context.Context, c Caller, in SecurityGroupRuleInput) (SecurityGroupRule, error) {
	r, err := checkRule(in)
	if err != nil {
		return SecurityGroupRule{}, err
	}
	if strings.TrimSpace(in.SecurityGroupID) == "" {
		return SecurityGroupRule{}, Invalid("security_group_id", "is required")
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockProject(tx, c.ProjectID); err != nil {
			return err
		}
		g, err := s.getSecurityGroup(tx, c, in.SecurityGroupID)
		if errors.Is(err, ErrNotFound) {
			return Invalid("security_group_id", "no such security group in this project")
		} else if err != nil {
			return err
		}
		if r.RemoteGroupID != "" {
			if _, err := s.getSecurityGroup(tx, c, r.RemoteGroupID); errors.Is(err, ErrNotFound) {
				return Invalid("remote_group_id", "no such security group in this project")
			} else if err != nil {
				return err
			}
		}
		if err := s.checkQuota(tx, c.ProjectID, Usage{SecurityGroupRules: 1}); err != nil {
			return err
		}
		r.ID, r.ProjectID, r.SecurityGroupID, r.CreatedAt = newID(), c.ProjectID, g.ID, s.now()
		r.Fingerprint = r.fingerprint()
		if err := tx.Create(&r).Error; err != nil {
			if isDuplicate(err) {
				return conflict("security group %s already has this rule", g.Name)
			}
			return fmt.Errorf("insert rule: %w", err)
		}
		if err := tx.Model(&SecurityGroup{}).Where("id = ?", g.ID).Update("updated_at", r.CreatedAt).Error; err != nil {
			return fmt.Errorf("touch group: %w", err)
		}
		return bumpNetworkRevision(tx)
	})
	if err != nil {
		return SecurityGroupRule{}, err
	}
	return r.view(), nil
}

// SecurityGroupRuleFilter narrows ListSecurityGroupRules: a rule matches a
// filter holding one of its values; empty fields match any rule.
type SecurityGroupRuleFilter struct {
	ListOptions
	Match
	SecurityGroupID []string
	Direction       []string // ingress or egress
}

// ListSecurityGroupRules lists the project's rules, oldest first.
func (s *Store) ListSecurityGroupRules(ctx context.Context, c Caller, f SecurityGroupRuleFilter) (Page[SecurityGroupRule], error) {
	o := f.ListOptions
	q := s.db.WithContext(ctx).Model(&SecurityGroupRule{}).Where("security_group_rules.project_id = ?", c.ProjectID)
	q = anyOf(q, "security_group_rules.security_group_id", f.SecurityGroupID)
	q = anyOf(q, "security_group_rules.direction", f.Direction)
	q = f.Match.where(q, "security_group_rules")
	if o.Marker != "" {
		var m SecurityGroupRule
		if err := q.Session(&gorm.Session{}).Where("id = ?", o.Marker).Take(&m).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return Page[SecurityGroupRule]{}, Invalid("marker", "no item with this ID in the list")
			}
			return Page[SecurityGroupRule]{}, fmt.Errorf("find marker: %w", err)
		}
		q = q.Where("(created_at > ? OR (created_at = ? AND id > ?))", m.CreatedAt, m.CreatedAt, m.ID)
	}
	p, err := finishPage(q.Order("created_at, id"), o, func(r SecurityGroupRule) string { return r.ID })
	if err != nil {
		return p, fmt.Errorf("list rules: %w", err)
	}
	for i := range p.Items {
		p.Items[i] = p.Items[i].view()
	}
	return p, nil
}

// GetSecurityGroupRule finds one of the project's rules.
func (s *Store) GetSecurityGroupRule(ctx context.Context, c Caller, id string) (SecurityGroupRule, error) {
	r, err := takeRef[SecurityGroupRule](s.db.WithContext(ctx).Where("id = ? AND project_id = ?", id, c.ProjectID), "security group rule", id)
	return r.view(), err
}

// DeleteSecurityGroupRule removes a rule; the hosts stop allowing what it
// allowed within seconds.
func (s *Store) DeleteSecurityGroupRule(ctx context.Context, c Caller, id string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ? AND project_id = ?", id, c.ProjectID).Delete(&SecurityGroupRule{})
		if res.Error != nil {
			return fmt.Errorf("delete rule: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return notFound("security group rule %q not found", id)
		}
		return bumpNetworkRevision(tx)
	})
}
