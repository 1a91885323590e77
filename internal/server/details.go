package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/appstate"
	"soll.dev/internal/resource"
)

// DiffsFunc compares an Application at revisions (one per source) with the
// live objects, as the controller would, and returns the objects that
// differ; appstate.Pipeline.Diff is one.
type DiffsFunc func(ctx context.Context, app *sollv1.Application, revisions []string) (*appstate.Diffs, error)

// Notes said with a diff: which resources differ comes from the
// controller's last comparison (status), and how they differ from a
// comparison of the same revisions made for the request.
const (
	diffNote          = "resources that differ from Git as of the last comparison; each diff compares the live object now with what a sync of the compared revision would make of it (a server-side-apply dry run), Secret values redacted"
	diffNoteNoCompare = "resources that differ from Git as of the last comparison; this server was started without the render pipeline, so it cannot show how they differ"
	diffNoteUnknown   = "the app has not been compared with Git yet, so no resource can be said to differ"
)

func (s *Server) appDiff(w http.ResponseWriter, r *http.Request, p *Principal) error {
	app, err := s.readApp(r.Context(), p, actGet, r.PathValue("name"))
	if err != nil {
		return err
	}
	d := apitypes.Diff{Sync: app.Status.Sync, Resources: []sollv1.ResourceStatus{}, Note: diffNote}
	for _, res := range app.Status.Resources {
		if res.Status == sollv1.SyncStatusOutOfSync || res.RequiresPruning {
			d.Resources = append(d.Resources, res)
		}
	}
	revisions := comparedRevisions(app.Status.Sync)
	switch {
	case s.opts.Diffs == nil:
		d.Note = diffNoteNoCompare
	case len(revisions) == 0:
		d.Note = diffNoteUnknown
	case len(d.Resources) > 0:
		if err := s.resourceDiffs(r.Context(), app, revisions, &d); err != nil {
			d.Note = fmt.Sprintf("resources that differ from Git as of the last comparison; how they differ could not be computed now: %v", err)
		}
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// resourceDiffs fills d.Diffs from a comparison of app at revisions, the
// ones of its last comparison, so that the diffs explain d.Resources.
func (s *Server) resourceDiffs(ctx context.Context, app *sollv1.Application, revisions []string, d *apitypes.Diff) error {
	c, err := s.opts.Diffs(ctx, app, revisions)
	if err != nil {
		return err
	}
	texts := map[resource.Key]string{}
	drift := map[resource.Key][]string{}
	for _, res := range c.Results {
		texts[res.Key] = res.Diff
		for _, d := range res.Drift {
			drift[res.Key] = append(drift[res.Key], d.String())
		}
	}
	d.Diffs = make([]apitypes.ResourceDiff, len(d.Resources))
	for i, rs := range d.Resources {
		k := resource.Key{Group: rs.Group, Kind: rs.Kind, Namespace: rs.Namespace, Name: rs.Name}
		d.Diffs[i] = apitypes.ResourceDiff{Group: rs.Group, Kind: rs.Kind, Namespace: rs.Namespace, Name: rs.Name, Diff: texts[k], Drift: drift[k]}
	}
	return nil
}

// comparedRevisions are the revisions of the app's last comparison, one
// per source; nil when it was never compared.
func comparedRevisions(s *sollv1.SyncStatus) []string {
	switch {
	case s == nil || s.Status == "" || s.Status == sollv1.SyncStatusUnknown:
		return nil
	case len(s.Revisions) > 0:
		return s.Revisions
	case s.Revision != "":
		return []string{s.Revision}
	}
	return nil
}

func (s *Server) appResources(w http.ResponseWriter, r *http.Request, p *Principal) error {
	app, err := s.readApp(r.Context(), p, actGet, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitypes.List[sollv1.ResourceStatus]{Items: nonNil(app.Status.Resources)})
	return nil
}

func (s *Server) appHistory(w http.ResponseWriter, r *http.Request, p *Principal) error {
	app, err := s.readApp(r.Context(), p, actGet, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitypes.List[sollv1.RevisionHistory]{Items: nonNil(app.Status.History)})
	return nil
}

// ManifestsFunc renders an Application's desired objects at revisions
// (one per source; nil or an empty entry: the source's target), as the
// controller would; appstate.Pipeline.Render is one.
type ManifestsFunc func(ctx context.Context, app *sollv1.Application, revisions []string) (*appstate.Manifests, error)

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
		if reason := appstate.ReasonOf(err); reason != "" && !errors.Is(err, context.DeadlineExceeded) {
			return newError(http.StatusUnprocessableEntity, "RenderFailed", "render application %s (%s): %v", app.Name, reason, err)
		}
		return err
	}
	out := apitypes.Manifests{Revisions: nonNil(m.Revisions), Items: []*unstructured.Unstructured{}}
	for _, o := range m.Objects {
		out.Items = append(out.Items, m.Redact(o))
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
