package web

import (
	"stratus/models"
	"stratus/views/layout"
)

// navEntry is one sidebar entry. Entries with no href are pages that later
// work brings: they show as "coming soon", never as a link to a fake page.
type navEntry struct {
	key, label, href, icon, action string
	heading                        bool
}

func projectNav() []navEntry {
	return []navEntry{
		{key: "overview", label: "Overview", href: "/", icon: "home", action: "identity:me"},
		{key: "compute", label: "Compute", heading: true},
		{key: "instances", label: "Instances", href: "/instances", icon: "server", action: "compute:instance:list"},
		{key: "images", label: "Images", href: "/images", icon: "image", action: "image:list"},
		{key: "keypairs", label: "Key Pairs", href: "/keypairs", icon: "key", action: "compute:keypair:list"},
		{key: "flavors", label: "Flavors", href: "/flavors", icon: "cpu", action: "compute:flavor:list"},
		{key: "resources", label: "Resources", heading: true},
		{key: "network", label: "Network", icon: "network"},
		{key: "volumes", label: "Volumes", icon: "volume"},
		{key: "tokens", label: "API tokens", href: "/tokens", icon: "ticket", action: "identity:token:list"},
	}
}

func adminNav() []navEntry {
	return []navEntry{
		{key: "admin-hypervisors", label: "Hypervisors", href: "/admin/hypervisors", icon: "hypervisor", action: "compute:host:list"},
		{key: "admin-instances", label: "Instances", href: "/admin/instances", icon: "server", action: "compute:instance:list_all"},
		{key: "admin-projects", label: "Projects", href: "/admin/projects", icon: "folder", action: "identity:project:list"},
		{key: "admin-users", label: "Users", href: "/admin/users", icon: "users", action: "identity:user:list"},
		{key: "admin-flavors", label: "Flavors", href: "/admin/flavors", icon: "cpu", action: "compute:flavor:create"},
		{key: "admin-images", label: "Images", href: "/admin/images", icon: "image", action: "compute:instance:list_all"},
		{key: "admin-jobs", label: "Jobs", href: "/admin/jobs", icon: "jobs", action: "admin:job:list"},
		{key: "admin-audit", label: "Audit log", href: "/admin/audit", icon: "shield", action: "identity:audit:list"},
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
		case h.Policy.Allowed(c, e.action):
			items = append(items, layout.NavItem{Key: e.key, Label: e.label, Href: e.href, Icon: e.icon, Active: e.key == active})
		}
	}
	return items
}
