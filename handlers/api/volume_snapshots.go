package api

import (
	"net/http"

	"stratus/models"
)

// SnapshotList is a page of volume snapshots, newest first.
type SnapshotList struct {
	Snapshots []models.Snapshot `json:"snapshots"`
	Next      *string           `json:"next"`
}

type snapshotQuery struct {
	namedPage
	VolumeID string `query:"volume_id" format:"uuid" doc:"Only the snapshots of this volume."`
}

func (a *API) listSnapshots(r *http.Request, c models.Caller, in snapshotQuery) (SnapshotList, error) {
	page, err := a.Store.ListSnapshots(r.Context(), c, models.SnapshotFilter{ListOptions: in.options(), VolumeID: in.VolumeID})
	if err != nil {
		return SnapshotList{}, err
	}
	return SnapshotList{Snapshots: nonNil(page.Items), Next: nextLink(r, page.NextMarker)}, nil
}

// createSnapshot is POST /volume-snapshots: 202 with the snapshot
// creating. An in-use volume needs "force": true (crash-consistent).
func (a *API) createSnapshot(r *http.Request, c models.Caller, in struct {
	Body models.SnapshotCreate `body:"json"`
}) (models.Snapshot, error) {
	return a.Store.CreateSnapshot(r.Context(), c, in.Body)
}

func (a *API) getSnapshot(r *http.Request, c models.Caller, in idPath) (models.Snapshot, error) {
	return a.Store.GetSnapshot(r.Context(), c, in.ID)
}

// SnapshotUpdate renames a snapshot or changes its description.
type SnapshotUpdate struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

func (a *API) updateSnapshot(r *http.Request, c models.Caller, in struct {
	idPath
	Body SnapshotUpdate `body:"json"`
}) (models.Snapshot, error) {
	return a.Store.UpdateSnapshot(r.Context(), c, in.ID, in.Body.Name, in.Body.Description)
}

// deleteSnapshot is DELETE /volume-snapshots/{id}: 202 with the snapshot
// deleting. Volumes made from it keep their data.
func (a *API) deleteSnapshot(r *http.Request, c models.Caller, in idPath) (models.Snapshot, error) {
	return a.Store.DeleteSnapshot(r.Context(), c, in.ID)
}

// VolumeTypeList is the volume types the caller may use, by name.
type VolumeTypeList struct {
	VolumeTypes []models.VolumeType `json:"volume_types"`
	Next        *string             `json:"next"`
}

func (a *API) listVolumeTypes(r *http.Request, c models.Caller, in namedPage) (VolumeTypeList, error) {
	p, err := a.Store.ListVolumeTypes(r.Context(), c, in.options())
	if err != nil {
		return VolumeTypeList{}, err
	}
	return VolumeTypeList{VolumeTypes: nonNil(p.Items), Next: nextLink(r, p.NextMarker)}, nil
}

func (a *API) getVolumeType(r *http.Request, c models.Caller, in struct {
	ID string `path:"id" doc:"The volume type's ID or name."`
}) (models.VolumeType, error) {
	return a.Store.GetVolumeType(r.Context(), c, in.ID)
}

func (a *API) createVolumeType(r *http.Request, c models.Caller, in struct {
	Body models.VolumeTypeInput `body:"json"`
}) (models.VolumeType, error) {
	return a.Store.CreateVolumeType(r.Context(), c, in.Body)
}

func (a *API) updateVolumeType(r *http.Request, c models.Caller, in struct {
	ID   string                 `path:"id" doc:"The volume type's ID or name."`
	Body models.VolumeTypeInput `body:"json"`
}) (models.VolumeType, error) {
	return a.Store.UpdateVolumeType(r.Context(), c, in.ID, in.Body)
}

func (a *API) deleteVolumeType(r *http.Request, c models.Caller, in struct {
	ID string `path:"id" doc:"The volume type's ID or name."`
}) (none, error) {
	return none{}, a.Store.DeleteVolumeType(r.Context(), c, in.ID)
}

// VolumeBackendList is every volume backend with its capacity.
type VolumeBackendList struct {
	Backends []models.VolumeBackend `json:"backends"`
	Next     *string                `json:"next"`
}

func (a *API) listVolumeBackends(r *http.Request, _ models.Caller, in namedPage) (VolumeBackendList, error) {
	p, err := a.Store.ListVolumeBackends(r.Context(), in.options())
	if err != nil {
		return VolumeBackendList{}, err
	}
	return VolumeBackendList{Backends: nonNil(p.Items), Next: nextLink(r, p.NextMarker)}, nil
}

// VolumeBackendUpdate enables or disables a backend for new volumes.
type VolumeBackendUpdate struct {
	Enabled bool `json:"enabled"`
}

func (a *API) updateVolumeBackend(r *http.Request, c models.Caller, in struct {
	Name string              `path:"name" doc:"The backend's name."`
	Body VolumeBackendUpdate `body:"json"`
}) (models.VolumeBackend, error) {
	return a.Store.SetVolumeBackendEnabled(r.Context(), c, in.Name, in.Body.Enabled)
}
