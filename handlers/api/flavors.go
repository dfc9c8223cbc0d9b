package api

import (
	"net/http"

	"stratus/models"
)

// FlavorList is a page of flavors, smallest first.
type FlavorList struct {
	Flavors []models.Flavor `json:"flavors"`
	Next    *string         `json:"next"`
}

// FlavorDetail is one flavor; operators also see which projects may use a
// private one.
type FlavorDetail struct {
	models.Flavor
	Projects []string `json:"projects,omitempty"` // project IDs; operators, private flavors only
}

type flavorQuery struct {
	namedPage
	All bool `query:"all" doc:"Operators: also disabled flavors and private ones not shared with your project."`
}

// flavorPath names a flavor by ID or name.
type flavorPath struct {
	ID string `path:"id" doc:"The flavor's ID or name."`
}

// listFlavors is GET /flavors: the flavors the caller may launch with.
func (a *API) listFlavors(r *http.Request, c models.Caller, in flavorQuery) (FlavorList, error) {
	if in.All && !c.IsSystemAdmin() {
		return FlavorList{}, &models.Error{Kind: models.ErrForbidden, Msg: "only operators may list every flavor"}
	}
	p, err := a.Store.ListFlavorsPage(r.Context(), c, in.All, in.options())
	if err != nil {
		return FlavorList{}, err
	}
	return FlavorList{Flavors: nonNil(p.Items), Next: nextLink(r, p.NextMarker)}, nil
}

func (a *API) getFlavor(r *http.Request, c models.Caller, in flavorPath) (FlavorDetail, error) {
	f, err := a.Store.GetFlavor(r.Context(), c, in.ID)
	if err != nil {
		return FlavorDetail{}, err
	}
	return a.flavorDetail(r, c, f)
}

// createFlavor adds a flavor; a private one (is_public: false) is usable by
// the projects listed.
func (a *API) createFlavor(r *http.Request, c models.Caller, in struct {
	Body models.FlavorInput `body:"json"`
}) (FlavorDetail, error) {
	f, err := a.Store.CreateFlavor(r.Context(), c, in.Body)
	if err != nil {
		return FlavorDetail{}, err
	}
	return a.flavorDetail(r, c, f)
}

// updateFlavor changes a flavor's description, visibility, disabled flag or
// project access; sizes are fixed (create another flavor instead).
func (a *API) updateFlavor(r *http.Request, c models.Caller, in struct {
	flavorPath
	Body models.FlavorUpdate `body:"json"`
}) (FlavorDetail, error) {
	f, err := a.Store.GetFlavor(r.Context(), c, in.ID)
	if err != nil {
		return FlavorDetail{}, err
	}
	if f, err = a.Store.UpdateFlavor(r.Context(), c, f.ID, in.Body); err != nil {
		return FlavorDetail{}, err
	}
	return a.flavorDetail(r, c, f)
}

// deleteFlavor removes a flavor; instances keep the size they were built
// with.
func (a *API) deleteFlavor(r *http.Request, c models.Caller, in flavorPath) (none, error) {
	f, err := a.Store.GetFlavor(r.Context(), c, in.ID)
	if err != nil {
		return none{}, err
	}
	return none{}, a.Store.DeleteFlavor(r.Context(), c, f.ID)
}

func (a *API) flavorDetail(r *http.Request, c models.Caller, f models.Flavor) (FlavorDetail, error) {
	d := FlavorDetail{Flavor: f}
	if c.IsSystemAdmin() && !f.IsPublic {
		projects, err := a.Store.FlavorProjects(r.Context(), f.ID)
		if err != nil {
			return FlavorDetail{}, err
		}
		d.Projects = nonNil(projects)
	}
	return d, nil
}
