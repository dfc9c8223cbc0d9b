package web

import (
	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/layout"
)

// navEntry is one sidebar entry. Entries with no href are pages that later
// work brings: they show as "coming soon", never as a link to a fake page.
// A link is shown only when the policy lets the caller open it: the action
// is the one its GET route declares, so the two cannot drift apart.
type navEntry struct {
	key, label, href, icon string
	heading                bool
}

func projectNav() []navEntry {
	return []navEntry{
		{key: "overview", label: i18n.N("Overview"), href: "/", icon: "home"},
		{key: "compute", label: i18n.N("Compute"), heading: true},
		{key: "instances", label: i18n.N("Instances"), href: "/instances", icon: "server"},
		{key: "images", label: i18n.N("Images"), href: "/images", icon: "image"},
		{key: "keypairs", label: i18n.N("Key Pairs"), href: "/keypairs", icon: "key"},
		{key: "flavors", label: i18n.N("Flavors"), href: "/flavors", icon: "cpu"},
		{key: "network", label: i18n.N("Network"), heading: true},
		{key: "networks", label: i18n.N("Networks"), href: "/networks", icon: "network"},
		{key: "security-groups", label: i18n.N("Security Groups"), href: "/security-groups", icon: "shield"},
		{key: "routers", label: i18n.N("Routers"), href: "/routers", icon: "router"},
		{key: "floating-ips", label: i18n.N("Floating IPs"), href: "/floating-ips", icon: "globe"},
		{key: "resources", label: i18n.N("Resources"), heading: true},
		{key: "volumes", label: i18n.N("Volumes"), href: "/volumes", icon: "volume"},
		{key: "snapshots", label: i18n.N("Snapshots"), href: "/snapshots", icon: "volume"},
		{key: "containers", label: i18n.N("Containers"), href: "/containers", icon: "archive"},
		{key: "tokens", label: i18n.N("API tokens"), href: "/tokens", icon: "ticket"},
	}
}

func adminNav() []navEntry {
	return []navEntry{
		{key: "admin-hypervisors", label: i18n.N("Hypervisors"), href: "/admin/hypervisors", icon: "hypervisor"},
		{key: "admin-instances", label: i18n.N("Instances"), href: "/admin/instances", icon: "server"},
		{key: "admin-projects", label: i18n.N("Projects"), href: "/admin/projects", icon: "folder"},
		{key: "admin-users", label: i18n.N("Users"), href: "/admin/users", icon: "users"},
		{key: "admin-flavors", label: i18n.N("Flavors"), href: "/admin/flavors", icon: "cpu"},
		{key: "admin-images", label: i18n.N("Images"), href: "/admin/images", icon: "image"},
		{key: "admin-volumes", label: i18n.N("Volumes"), href: "/admin/volumes", icon: "volume"},
		{key: "admin-jobs", label: i18n.N("Jobs"), href: "/admin/jobs", icon: "jobs"},
		{key: "admin-audit", label: i18n.N("Audit log"), href: "/admin/audit", icon: "shield"},
	}
}

// nav builds the sidebar for a caller: the Project section when they have a
// project, the Admin section when they are an operator; within a section,
// a link only when the policy lets them open it.
func (h *Web) nav(c *models.Caller, active string) []layout.NavSection {
	var out []layout.NavSection
	if c.ProjectID != "" {
		out = append(out, layout.NavSection{Title: i18n.N("Project"), Items: h.navItems(c, projectNav(), active)})
	} else {
		out = append(out, layout.NavSection{Title: i18n.N("Account"), Items: h.navItems(c, projectNav()[:1], active)})
	}
	if c.IsSystemAdmin() {
		out = append(out, layout.NavSection{Title: i18n.N("Admin"), Items: h.navItems(c, adminNav(), active)})
	}
	return out
}

func (h *Web) navItems(c *models.Caller, entries []navEntry, active string) []layout.NavItem {
	items := make([]layout.NavItem, 0, len(entries))
	for _, e := range entries {
		switch {
		case e.heading:
			items = append(items, layout.NavItem{Key: e.key, Label: e.label, Heading: true})
		case e.href == "":
			items = append(items, layout.NavItem{Key: e.key, Label: e.label, Icon: e.icon, Soon: true})
		case h.Policy.Allowed(c, h.pageActions[e.href]):
			items = append(items, layout.NavItem{Key: e.key, Label: e.label, Href: e.href, Icon: e.icon, Active: e.key == active})
		}
	}
	return items
}
