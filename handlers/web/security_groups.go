package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
	"stratus/views/ui"
)

// securityGroups lists the project's groups (the default one made on
// first use) beside the form creating one.
func (h *Web) securityGroups(w http.ResponseWriter, r *http.Request) {
	h.renderSecurityGroups(w, r, http.StatusOK, ui.NewForm(nil))
}

func (h *Web) renderSecurityGroups(w http.ResponseWriter, r *http.Request, status int, form ui.Form) {
	ctx := r.Context()
	lq := readList(r, "/security-groups", 50)
	page, err := h.Store.ListSecurityGroups(ctx, callerOf(ctx), models.SecurityGroupFilter{ListOptions: lq.options()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.SecurityGroupsProps{Rows: page.Items, Pager: lq.pager(page.NextMarker), Form: form, CSRF: h.csrfToken(r),
		Here: "/security-groups", CanCreate: h.allowed(ctx, "network:security_group:create"),
		CanDelete: h.allowed(ctx, "network:security_group:delete")}
	h.render(w, r, status, pages.SecurityGroupsPage(h.shell(r, i18n.T(r.Context(), "Security groups"), "security-groups"), p))
}

func (h *Web) createSecurityGroup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := ui.NewForm(map[string]string{"name": strings.TrimSpace(r.PostFormValue("name")),
		"description": strings.TrimSpace(r.PostFormValue("description"))})
	g, err := h.Store.CreateSecurityGroup(ctx, callerOf(ctx), models.SecurityGroupInput{Name: form.Get("name"), Description: form.Get("description")})
	if h.formFailed(r, err, &form) {
		h.renderSecurityGroups(w, r, httpStatus(err), form)
		return
	}
	if st := httpStatus(err); err != nil && st == http.StatusForbidden {
		form.Error = h.userMessage(r, err) // over quota
		h.renderSecurityGroups(w, r, st, form)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, i18n.T(r.Context(), "Security group %s created: add its rules.", g.Name))
	redirect(w, r, "/security-groups/"+g.ID)
}

func (h *Web) deleteSecurityGroup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	err := h.Store.DeleteSecurityGroup(ctx, callerOf(ctx), id)
	back := "/security-groups"
	if err != nil {
		back = "/security-groups/" + id // a group in use: say so on its page
	}
	h.finish(w, r, err, back, i18n.T(r.Context(), "Security group deleted."))
}

// securityGroup is a group's page with its rules editor.
func (h *Web) securityGroup(w http.ResponseWriter, r *http.Request) {
	h.renderSecurityGroup(w, r, chi.URLParam(r, "id"), http.StatusOK, newRuleForm())
}

func newRuleForm() ui.Form {
	return ui.NewForm(map[string]string{"direction": models.DirectionIngress, "protocol": models.ProtocolTCP})
}

// renderSecurityGroup shows the group's page, or to htmx (the editor's
// forms target #sg-rules) the rules editor alone.
func (h *Web) renderSecurityGroup(w http.ResponseWriter, r *http.Request, id string, status int, form ui.Form) {
	ctx := r.Context()
	c := callerOf(ctx)
	g, err := h.Store.GetSecurityGroup(ctx, c, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	groups, err := h.Store.ListSecurityGroups(ctx, c, models.SecurityGroupFilter{ListOptions: models.ListOptions{Limit: models.MaxPageSize}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := pages.SecurityGroupDetailProps{Group: g, CSRF: h.csrfToken(r), CanDelete: h.allowed(ctx, "network:security_group:delete"),
		Rules: pages.RulesProps{GroupID: g.ID, Rules: g.Rules, Groups: groups.Items, Form: form, CSRF: h.csrfToken(r),
			CanCreate: h.allowed(ctx, "network:security_group_rule:create"), CanDelete: h.allowed(ctx, "network:security_group_rule:delete")}}
	h.renderPage(w, r, status, pages.SecurityGroupPage(h.shell(r, g.Name, "security-groups"), p), "sg-rules")
}

// ruleFields are the rule form's fields.
var ruleFields = []string{"direction", "protocol", "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id", "description"}

// createRule adds a rule from the editor; htmx gets the editor back (with
// the new rule, or with the refused field named beside it), a browser
// without JavaScript the page.
func (h *Web) createRule(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	id := chi.URLParam(r, "id")
	if _, err := h.Store.GetSecurityGroup(ctx, c, id); err != nil {
		h.fail(w, r, err) // another project's group: 404 whatever the form says
		return
	}
	form := ui.NewForm(nil)
	for _, k := range ruleFields {
		form.Values[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	in := models.SecurityGroupRuleInput{SecurityGroupID: id, Direction: form.Get("direction"), Description: form.Get("description")}
	if v := form.Get("protocol"); v != "" {
		in.Protocol = &v
	}
	port := func(field string) *int {
		v := form.Get(field)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			form.Errors[field] = i18n.T(r.Context(), "must be a port number 1–65535")
			return nil
		}
		return &n
	}
	in.PortRangeMin, in.PortRangeMax = port("port_range_min"), port("port_range_max")
	if in.PortRangeMin != nil && in.PortRangeMax == nil && form.Get("port_range_max") == "" {
		in.PortRangeMax = in.PortRangeMin // one port
	}
	if v := form.Get("remote_ip_prefix"); v != "" {
		in.RemoteIPPrefix = &v
	}
	if v := form.Get("remote_group_id"); v != "" {
		in.RemoteGroupID = &v
	}
	var err error
	if !form.HasErrors() {
		_, err = h.Store.CreateSecurityGroupRule(ctx, c, in)
	}
	refused := form.HasErrors() || h.formFailed(r, err, &form)
	if !refused && err != nil && httpStatus(err) == http.StatusForbidden {
		form.Error, refused = h.userMessage(r, err), true // over quota
	}
	switch {
	case refused:
		h.renderSecurityGroup(w, r, id, http.StatusUnprocessableEntity, form)
	case err != nil:
		h.fail(w, r, err)
	case isHTMX(r):
		keep := newRuleForm()
		keep.Values["direction"], keep.Values["protocol"] = form.Get("direction"), form.Get("protocol")
		h.renderSecurityGroup(w, r, id, http.StatusOK, keep)
	default:
		h.flash(r, i18n.T(r.Context(), "Rule added."))
		redirect(w, r, "/security-groups/"+id)
	}
}

// deleteRule removes a rule; htmx gets the editor without it.
func (h *Web) deleteRule(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	rule, err := h.Store.GetSecurityGroupRule(ctx, c, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	err = h.Store.DeleteSecurityGroupRule(ctx, c, rule.ID)
	if err == nil && isHTMX(r) {
		h.renderSecurityGroup(w, r, rule.SecurityGroupID, http.StatusOK, newRuleForm())
		return
	}
	h.finish(w, r, err, "/security-groups/"+rule.SecurityGroupID, i18n.T(r.Context(), "Rule removed."))
}
