package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"stratus/handlers/policy"
	"stratus/models"
	"stratus/views/i18n"
	"stratus/views/pages"
)

// instanceMove starts a move from the instance page: resize, confirm or
// revert (members), migrate, live migrate or evacuate (operators; checked
// here and in the model). A refusal is a flash error.
func (h *Web) instanceMove(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	action := r.PostFormValue("action")
	var inst models.Instance
	var err error
	if h.mayMove(ctx, action) {
		inst, err = h.Store.MoveInstance(ctx, callerOf(ctx), chi.URLParam(r, "id"), action,
			models.MoveRequest{Flavor: r.PostFormValue("flavor"), Host: r.PostFormValue("host")})
	} else {
		err = moveForbidden(action)
	}
	h.finish(w, r, err, backTo(r), moveDone(ctx, action, inst.Name))
}

// mayMove reports whether the caller may start the move action as far as
// its own rule goes (policy.MoveRule).
func (h *Web) mayMove(ctx context.Context, action string) bool {
	rule := policy.MoveRule(action)
	return rule == "" || h.allowed(ctx, rule)
}

// moveForbidden is the refusal of a move the caller's role does not allow.
func moveForbidden(action string) error {
	if action == models.ActionResize {
		return &models.Error{Kind: models.ErrForbidden, Msg: i18n.N("you may not resize instances")}
	}
	return &models.Error{Kind: models.ErrForbidden, Msg: i18n.N("only operators may move instances between hosts")}
}

// moveDone is the flash of a move that started (or, for a confirm, ended).
func moveDone(ctx context.Context, action, name string) string {
	switch action {
	case models.ActionResize:
		return i18n.T(ctx, "Resizing %s.", name)
	case models.ActionConfirmResize:
		return i18n.T(ctx, "Confirmed the resize of %s.", name)
	case models.ActionRevertResize:
		return i18n.T(ctx, "Reverting the resize of %s.", name)
	case models.ActionMigrate:
		return i18n.T(ctx, "Migrating %s.", name)
	case models.ActionLiveMigrate:
		return i18n.T(ctx, "Live-migrating %s.", name)
	case models.ActionEvacuate:
		return i18n.T(ctx, "Evacuating %s.", name)
	}
	return action + " " + name + "."
}

// moveProps says which move forms the instance page shows.
func (h *Web) moveProps(ctx context.Context, inst models.Instance) (pages.MoveProps, error) {
	c := callerOf(ctx)
	var p pages.MoveProps
	m, err := h.Store.LatestMigration(ctx, c, inst.ID)
	switch {
	case err == nil:
		p.Migration = &m
	case !errors.Is(err, models.ErrNotFound):
		return p, err
	}
	p.Verify = models.MoveActionAllowed(inst, models.ActionConfirmResize, false)
	if h.mayMove(ctx, models.ActionResize) && models.MoveActionAllowed(inst, models.ActionResize, false) {
		flavors, err := h.Store.ListFlavors(ctx, c, false)
		if err != nil {
			return p, err
		}
		for _, f := range flavors {
			if f.ID != inst.FlavorID && f.DiskGB >= inst.DiskGB && f.EphemeralGB >= inst.EphemeralGB {
				p.Flavors = append(p.Flavors, f)
			}
		}
		p.Resize = true
	}
	if !c.IsSystemAdmin() || inst.Host == "" {
		return p, nil
	}
	hosts, err := h.Store.ListHosts(ctx)
	if err != nil {
		return p, err
	}
	down := false
	for _, host := range hosts {
		if host.Name == inst.Host {
			down = !host.Up
		} else if host.Up && host.Enabled {
			p.Hosts = append(p.Hosts, host.Name)
		}
	}
	p.Migrate = h.mayMove(ctx, models.ActionMigrate) && models.MoveActionAllowed(inst, models.ActionMigrate, down)
	p.LiveMigrate = h.mayMove(ctx, models.ActionLiveMigrate) && models.MoveActionAllowed(inst, models.ActionLiveMigrate, down)
	p.Evacuate = h.mayMove(ctx, models.ActionEvacuate) && models.MoveActionAllowed(inst, models.ActionEvacuate, down)
	return p, nil
}
