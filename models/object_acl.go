package models

import (
	"net/url"
	"strings"
)

// Container ACLs (X-Container-Read, X-Container-Write), Swift's keystone
// form: a comma-separated list of
//
//	.r:<referrer>   read by anyone whose Referer matches, even without a
//	                token (".r:*" is everyone: a public container); a
//	                leading "-" refuses, a leading "." matches subdomains
//	.rlistings      with .r: entries, may list the container too
//	<project>:<user> a project and user by ID or name, either may be "*"
//
// Referrer entries belong in read ACLs only.

// ACL is a parsed container ACL.
type ACL struct {
	Referrers []string
	Listings  bool
	Grants    []ACLGrant
}

// ACLGrant names who an ACL lets in.
type ACLGrant struct {
	Project string // ID, name or "*"
	User    string // ID, name or "*"
}

// ParseACL parses a container ACL; write says it is X-Container-Write,
// which takes no referrer entries.
func ParseACL(s string, write bool) (ACL, error) {
	header := "X-Container-Read"
	if write {
		header = "X-Container-Write"
	}
	var acl ACL
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
		case e == ".rlistings":
			if write {
				return ACL{}, Invalid(header, ".rlistings belongs in X-Container-Read")
			}
			acl.Listings = true
		case strings.HasPrefix(e, ".r:") || strings.HasPrefix(e, ".ref:") || strings.HasPrefix(e, ".referer:") || strings.HasPrefix(e, ".referrer:"):
			if write {
				return ACL{}, Invalid(header, "referrer (.r:) entries belong in X-Container-Read")
			}
			_, v, _ := strings.Cut(e, ":")
			if v == "" || v == "-" {
				return ACL{}, Invalidf(header, "%q names no referrer", e)
			}
			if strings.HasPrefix(v, "-*") {
				return ACL{}, Invalidf(header, "%q: refusing every referrer is the default", e)
			}
			acl.Referrers = append(acl.Referrers, v)
		case strings.HasPrefix(e, "."):
			return ACL{}, Invalidf(header, "unknown entry %q (use .r:<referrer> or .rlistings)", e)
		default:
			project, user, ok := strings.Cut(e, ":")
			if !ok || project == "" || user == "" || strings.Contains(user, ":") {
				return ACL{}, Invalidf(header, "entry %q is not <project>:<user> (either may be *)", e)
			}
			acl.Grants = append(acl.Grants, ACLGrant{Project: project, User: user})
		}
	}
	return acl, nil
}

// String renders the ACL back in its canonical form.
func (a ACL) String() string {
	var parts []string
	for _, r := range a.Referrers {
		parts = append(parts, ".r:"+r)
	}
	if a.Listings {
		parts = append(parts, ".rlistings")
	}
	for _, g := range a.Grants {
		parts = append(parts, g.Project+":"+g.User)
	}
	return strings.Join(parts, ",")
}

// referrerAllowed applies the .r: entries to a Referer header (Swift's
// referrer_allowed): the last matching entry wins, and "*" matches even a
// request without a Referer.
func (a ACL) referrerAllowed(referer string) bool {
	host := "unknown"
	if u, err := url.Parse(referer); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	allow := false
	for _, m := range a.Referrers {
		deny := strings.HasPrefix(m, "-")
		m = strings.TrimPrefix(m, "-")
		if m == "*" || m == host || (strings.HasPrefix(m, ".") && strings.HasSuffix(host, m)) {
			allow = !deny
		}
	}
	return allow
}

// grants reports whether an entry of the ACL names the caller.
func (a ACL) grants(c *Caller) bool {
	if c == nil {
		return false
	}
	for _, g := range a.Grants {
		projectOK := g.Project == "*" || (c.ProjectID != "" && (g.Project == c.ProjectID || g.Project == c.ProjectName))
		userOK := g.User == "*" || g.User == c.UserID || g.User == c.UserName
		if projectOK && userOK {
			return true
		}
	}
	return false
}

// ContainerGrant is what a container's ACLs give someone who is not a
// member of the container's project.
type ContainerGrant struct {
	Read  bool // GET and HEAD its objects
	List  bool // GET and HEAD the container (its listing)
	Write bool // PUT, POST and DELETE its objects
}

// GrantFor evaluates the container's ACLs for a caller (nil: anonymous)
// sending a Referer. A malformed stored ACL grants nothing.
func (c Container) GrantFor(caller *Caller, referer string) ContainerGrant {
	var g ContainerGrant
	if read, err := ParseACL(c.ReadACL, false); err == nil {
		if read.grants(caller) {
			g.Read, g.List = true, true
		} else if read.referrerAllowed(referer) {
			g.Read, g.List = true, read.Listings
		}
	}
	if write, err := ParseACL(c.WriteACL, true); err == nil {
		g.Write = write.grants(caller)
	}
	return g
}
