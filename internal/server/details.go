package server

import (
	"context"
	"errors"
	"net/http"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/controller"
	"soll.dev/internal/diff"
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

// ManifestsFunc renders an Application's desired objects at revisions
// (one per source; nil or an empty entry: the source's target), as the
// controller would; controller.Manager.RenderManifests is one.
type ManifestsFunc func(ctx context.Context, app *sollv1.Application, revisions []string) (*controller.Manifests, error)

// Manifests is the response of GET /api/v1/applications/{name}/manifests.
type Manifests struct {
	// Revisions are the rendered revisions, one per source.
	Revisions []string `json:"revisions"`
	// Items are the objects a sync would apply, Secret values masked.
	Items []*unstructured.Unstructured `json:"items"`
}

// appManifests renders the app at its target revisions, or at the
// revisions asked for (?revision=, once per source), with the same
// pipeline and caches as the controller; Secret values are masked as in
// diffs.
func (s *Server) appManifests(w http.ResponseWriter, r *http.Request, p *Principal) error {
	app, err := s.readApp(r.Context(), p, actGet, r.PathValue("name"))
	if err != nil {
		return err
	}
	if s.opts.Manifests == nil {
		return newError(http.StatusNotImplemented, "NotImplemented",
			"this server was started without the render pipeline, so it cannot render manifests; `soll run` and `soll server` both serve them")
	}
	revisions := r.URL.Query()["revision"]
	if n := len(revisions); n > 0 {
		sources := 1
		if app.Spec.Source == nil {
			sources = len(app.Spec.Sources)
		}
		if n != sources {
			return invalid("revision", "application %s has %d sources: give revision once per source, in order, or not at all", app.Name, sources)
		}
	}
	m, err := s.opts.Manifests(r.Context(), app, revisions)
	if err != nil {
		if reason := controller.ErrorReason(err); reason != "" && !errors.Is(err, context.DeadlineExceeded) {
			return newError(http.StatusUnprocessableEntity, "RenderFailed", "render application %s (%s): %v", app.Name, reason, err)
		}
		return err
	}
	out := Manifests{Revisions: nonNil(m.Revisions), Items: []*unstructured.Unstructured{}}
	for _, o := range m.Objects {
		out.Items = append(out.Items, diff.Redact(o))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
