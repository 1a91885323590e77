package server

import (
	"net/http"

	sollv1 "soll.dev/api/v1alpha1"
)

// Diff is the response of GET /api/v1/applications/{name}/diff.
type Diff struct {
	// Sync is the app's sync status and compared revision.
	Sync *sollv1.SyncStatus `json:"sync,omitempty"`
	// Resources are the managed resources that differ from Git: OutOfSync
	// ones and ones that would be pruned.
	Resources []sollv1.ResourceStatus `json:"resources"`
	// Note explains what the diff holds.
	Note string `json:"note"`
}

// diffNote is said with every diff: status holds which resources differ,
// not how, and the server cannot render Git to compute it.
const diffNote = "resources that differ from Git as of the last comparison; the controller records which resources differ, not the field-level diff, so the API cannot show it"

func (s *Server) appDiff(w http.ResponseWriter, r *http.Request, p *Principal) error {
	app, err := s.readApp(r.Context(), p, actGet, r.PathValue("name"))
	if err != nil {
		return err
	}
	d := Diff{Sync: app.Status.Sync, Resources: []sollv1.ResourceStatus{}, Note: diffNote}
	for _, res := range app.Status.Resources {
		if res.Status == sollv1.SyncStatusOutOfSync || res.RequiresPruning {
			d.Resources = append(d.Resources, res)
		}
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) appResources(w http.ResponseWriter, r *http.Request, p *Principal) error {
	app, err := s.readApp(r.Context(), p, actGet, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(app.Status.Resources)})
	return nil
}

func (s *Server) appHistory(w http.ResponseWriter, r *http.Request, p *Principal) error {
	app, err := s.readApp(r.Context(), p, actGet, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(app.Status.History)})
	return nil
}

// appManifests answers 501: rendering needs the repositories and their
// credentials, which only the controller holds.
func (s *Server) appManifests(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if _, err := s.readApp(r.Context(), p, actGet, r.PathValue("name")); err != nil {
		return err
	}
	return newError(http.StatusNotImplemented, "NotImplemented",
		"the API server does not render manifests: rendering happens in the controller, which holds the repositories and their credentials; GET /api/v1/applications/%s/resources lists what the app manages", r.PathValue("name"))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
