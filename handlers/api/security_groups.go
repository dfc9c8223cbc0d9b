package api

import (
	"net/http"

	"stratus/models"
)

// SecurityGroupList is a page of the project's security groups with their
// rules, by name. The project's "default" group is made on first use.
type SecurityGroupList struct {
	SecurityGroups []models.SecurityGroup `json:"security_groups"`
	Next           *string                `json:"next"`
}

// securityGroupPath names a security group of the project by ID or name.
type securityGroupPath struct {
	ID string `path:"id" doc:"The security group's ID or name."`
}

func (a *API) listSecurityGroups(r *http.Request, c models.Caller, in namedPage) (SecurityGroupList, error) {
	p, err := a.Store.ListSecurityGroups(r.Context(), c, models.SecurityGroupFilter{ListOptions: in.options()})
	if err != nil {
		return SecurityGroupList{}, err
	}
	return SecurityGroupList{SecurityGroups: nonNil(p.Items), Next: nextLink(r, p.NextMarker)}, nil
}

// createSecurityGroup adds a group that allows all egress and no ingress;
// add ingress rules next.
func (a *API) createSecurityGroup(r *http.Request, c models.Caller, in struct {
	Body models.SecurityGroupInput `body:"json"`
}) (models.SecurityGroup, error) {
	return a.Store.CreateSecurityGroup(r.Context(), c, in.Body)
}

func (a *API) getSecurityGroup(r *http.Request, c models.Caller, in securityGroupPath) (models.SecurityGroup, error) {
	return a.Store.GetSecurityGroup(r.Context(), c, in.ID)
}

func (a *API) updateSecurityGroup(r *http.Request, c models.Caller, in struct {
	securityGroupPath
	Body models.SecurityGroupUpdate `body:"json"`
}) (models.SecurityGroup, error) {
	return a.Store.UpdateSecurityGroup(r.Context(), c, in.ID, in.Body)
}

// deleteSecurityGroup removes a group no port uses (the default group
// stays).
func (a *API) deleteSecurityGroup(r *http.Request, c models.Caller, in securityGroupPath) (none, error) {
	return none{}, a.Store.DeleteSecurityGroup(r.Context(), c, in.ID)
}

// SecurityGroupRuleList is a page of the project's rules, oldest first.
type SecurityGroupRuleList struct {
	SecurityGroupRules []models.SecurityGroupRule `json:"security_group_rules"`
	Next               *string                    `json:"next"`
}

type ruleQuery struct {
	page
	SecurityGroupID string `query:"security_group_id" format:"uuid" doc:"Only this group's rules."`
}

func (a *API) listSecurityGroupRules(r *http.Request, c models.Caller, in ruleQuery) (SecurityGroupRuleList, error) {
	p, err := a.Store.ListSecurityGroupRules(r.Context(), c, models.SecurityGroupRuleFilter{SecurityGroupID: []string{in.SecurityGroupID},
		ListOptions: models.ListOptions{Limit: in.Limit, Marker: in.Marker}})
	if err != nil {
		return SecurityGroupRuleList{}, err
	}
	return SecurityGroupRuleList{SecurityGroupRules: nonNil(p.Items), Next: nextLink(r, p.NextMarker)}, nil
}

// createSecurityGroupRule allows one kind of traffic; every host with a
// port in the group applies it within seconds. A duplicate is 409.
func (a *API) createSecurityGroupRule(r *http.Request, c models.Caller, in struct {
	Body models.SecurityGroupRuleInput `body:"json"`
}) (models.SecurityGroupRule, error) {
	return a.Store.CreateSecurityGroupRule(r.Context(), c, in.Body)
}

func (a *API) getSecurityGroupRule(r *http.Request, c models.Caller, in idPath) (models.SecurityGroupRule, error) {
	return a.Store.GetSecurityGroupRule(r.Context(), c, in.ID)
}

func (a *API) deleteSecurityGroupRule(r *http.Request, c models.Caller, in idPath) (none, error) {
	return none{}, a.Store.DeleteSecurityGroupRule(r.Context(), c, in.ID)
}

// InstanceSecurityGroups replaces the groups of every port of an instance.
type InstanceSecurityGroups struct {
	SecurityGroups []string `json:"security_groups"`
}

// InstanceSecurityGroupList is the groups an instance's ports are in.
type InstanceSecurityGroupList struct {
	SecurityGroups []models.SecurityGroup `json:"security_groups"`
}

// setInstanceSecurityGroups is PUT /instances/{id}/security-groups: the
// instance's ports (those with port security) get exactly these groups.
func (a *API) setInstanceSecurityGroups(r *http.Request, c models.Caller, in struct {
	idPath
	Body InstanceSecurityGroups `body:"json"`
}) (InstanceSecurityGroupList, error) {
	groups, err := a.Store.SetInstanceSecurityGroups(r.Context(), c, in.ID, in.Body.SecurityGroups)
	if err != nil {
		return InstanceSecurityGroupList{}, err
	}
	return InstanceSecurityGroupList{SecurityGroups: nonNil(groups)}, nil
}

func (a *API) listInstanceSecurityGroups(r *http.Request, c models.Caller, in idPath) (InstanceSecurityGroupList, error) {
	groups, err := a.Store.InstanceSecurityGroups(r.Context(), c, in.ID)
	if err != nil {
		return InstanceSecurityGroupList{}, err
	}
	return InstanceSecurityGroupList{SecurityGroups: nonNil(groups)}, nil
}
