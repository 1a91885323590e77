package server

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/appstate"
	"soll.dev/internal/diff"
	"soll.dev/internal/resource"
)

// TestDiffAttachesResourceDiffs checks GET .../diff with a comparison
// function: it compares the revisions of the last comparison, gives each
// differing resource of the status its diff (empty for one that no longer
// differs), and when the comparison fails, lists the resources without
// diffs and says why in the note.
func TestDiffAttachesResourceDiffs(t *testing.T) {
	const rev = "0123456789012345678901234567890123456789"
	var asked []string
	h := newHarness(t, func(o *Options) {
		o.Diffs = func(_ context.Context, app *sollv1.Application, revisions []string) (*appstate.Diffs, error) {
			if app.Name == "broken" {
				return nil, errors.New("render: broken.yaml: line 3: mapping values are not allowed here")
			}
			asked = revisions
			return &appstate.Diffs{Revisions: revisions, Results: []diff.Result{
				{Key: resource.Key{Kind: "ConfigMap", Namespace: "web", Name: "settings"}, Status: diff.OutOfSync, Diff: "--- live\n+++ desired\n",
					Drift: []diff.Drift{{Path: "data.mode", Manager: "kubectl-edit"}, {Path: "data.extra"}}},
				{Key: resource.Key{Kind: "ConfigMap", Namespace: "web", Name: "unlisted"}, Status: diff.OutOfSync, Diff: "--- live\n"},
			}}, nil
		}
	})
	for _, name := range []string{"web", "broken"} {
		h.createApp(name, "team-a", "web", nil)
		h.setStatus(name, func(s *sollv1.ApplicationStatus) {
			s.Sync = &sollv1.SyncStatus{Status: sollv1.SyncStatusOutOfSync, Revision: rev}
			s.Resources = []sollv1.ResourceStatus{
				{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "web", Status: sollv1.SyncStatusOutOfSync},
				{Kind: "ConfigMap", Namespace: "web", Name: "settings", Status: sollv1.SyncStatusOutOfSync},
				{Kind: "Service", Namespace: "web", Name: "web", Status: sollv1.SyncStatusSynced},
			}
		})
	}
	get := func(name string) apitypes.Diff {
		var d apitypes.Diff
		h.eventually(10*time.Second, "the status of "+name, func() bool {
			d = apitypes.Diff{}
			h.must(http.MethodGet, "/api/v1/applications/"+name+"/diff", nil, http.StatusOK, &d)
			return len(d.Resources) == 2
		})
		return d
	}

	d := get("web")
	if !slices.Equal(asked, []string{rev}) {
		t.Errorf("compared revisions %q, want those of the last comparison", asked)
	}
	want := []apitypes.ResourceDiff{
		{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "web"},
		{Kind: "ConfigMap", Namespace: "web", Name: "settings", Diff: "--- live\n+++ desired\n", Drift: []string{"data.mode changed by kubectl-edit", "data.extra differs"}},
	}
	if !reflect.DeepEqual(d.Diffs, want) || d.Note != diffNote {
		t.Errorf("diff: diffs %+v, note %q", d.Diffs, d.Note)
	}

	d = get("broken")
	if d.Diffs != nil || !strings.Contains(d.Note, "how they differ could not be computed now: render: broken.yaml: line 3") {
		t.Errorf("diff of an app that no longer renders: diffs %+v, note %q", d.Diffs, d.Note)
	}
}
