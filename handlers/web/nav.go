package web

import (
	"stratus/models"
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
		{key: "overview", label: "Overview", href: "/", icon: "home"},
		{key: "compute", label: "Compute", heading: true},
		{key: "instances", label: "Instances", href: "/instances", icon: "server"},
		{key: "images", label: "Images", href: "/images", icon: "image"},
		{key: "keypairs", label: "Key Pairs", href: "/keypairs", icon: "key"},
		{key: "flavors", label: "Flavors", href: "/flavors", icon: "cpu"},
		{key: "resources", label: "Resources", heading: true},
		{key: "network", label: "Network", icon: "network"},
		{key: "volumes", label: "Volumes", icon: "volume"},
		{key: "tokens", label: "API tokens", href: "/tokens", icon: "ticket"},
	}
}

func adminNav() []navEntry {
	return []navEntry{
		{key: "admin-hypervisors", label: "Hypervisors", href: "/admin/hypervisors", icon: "hypervisor"},
		{key: "admin-instances", label: "Instances", href: "/admin/instances", icon: "server"},
		{key: "admin-projects", label: "Projects", href: "/admin/projects", icon: "folder"},
		{key: "admin-users", label: "Users", href: "/admin/users", icon: "users"},
		{key: "admin-flavors", label: "Flavors", href: "/admin/flavors", icon: "cpu"},
		{key: "admin-images", label: "Images", href: "/admin/images", icon: "image"},
		{key: "admin-jobs", label: "Jobs", href: "/admin/jobs", icon: "jobs"},
		{key: "admin-audit", label: "Audit log", href: "/admin/audit", icon: "shield"},
	}
}

// nav builds the sidebar for a caller: the Project section when they have a
// project, the Admin section when they are an operator; within a section,
// a link only when the policy lets them open it.
func (h *Web) nav(c *models.Caller, active string) []layout.NavSection {
	var out []layout.NavSection
	if c.ProjectID != "" {
		out = append(out, layout.NavSection{Title: "Project", Items: h.navItems(c, projectNav(), active)})
	} else {
		out = append(out, layout.NavSection{Title: "Account", Items: h.navItems(c, projectNav()[:1], active)})
	}
	if c.IsSystemAdmin() {
		out = append(out, layout.NavSection{Title: "Admin", Items: h.navItems(c, adminNav(), active)})
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
