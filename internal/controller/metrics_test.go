package controller

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/diff"
	"soll.dev/internal/render"
	"soll.dev/internal/source/git"
)

type fakeStats map[string]git.RepoStats

func (f fakeStats) Stats() map[string]git.RepoStats { return f }

// TestStateCollector: the state metrics count the cached Applications by
// sync status, health and project (an app not yet compared as Unknown),
// and report the caches' sizes and the Git counters.
func TestStateCollector(t *testing.T) {
	app := func(name, project string, sync sollv1.SyncStatusCode, health sollv1.HealthStatusCode) *sollv1.Application {
		a := &sollv1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "soll", Name: name}}
		a.Spec.Project = project
		if sync != "" {
			a.Status.Sync = &sollv1.SyncStatus{Status: sync}
			a.Status.Health = &sollv1.HealthStatus{Status: health}
		}
		return a
	}
	c := fakeClient(t).WithObjects(
		app("a", "default", sollv1.SyncStatusSynced, sollv1.HealthHealthy),
		app("b", "default", sollv1.SyncStatusSynced, sollv1.HealthHealthy),
		app("c", "team-a", sollv1.SyncStatusOutOfSync, sollv1.HealthDegraded),
		app("d", "team-a", "", ""),
	).Build()
	sc := newStateCollector()
	sc.current.Store(&stateSources{client: c, ns: "soll", render: &render.Cache{}, dryRuns: diff.NewDryRunCache(0),
		git: fakeStats{"https://git.example.com/config": {RefLists: 3, Fetches: 2}}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(sc)
	want := `
# HELP soll_applications Applications, by sync status, health status and project; from the controller's cache at scrape time.
# TYPE soll_applications gauge
soll_applications{health_status="Degraded",project="team-a",sync_status="OutOfSync"} 1
soll_applications{health_status="Healthy",project="default",sync_status="Synced"} 2
soll_applications{health_status="Unknown",project="team-a",sync_status="Unknown"} 1
# HELP soll_dry_run_cache_entries Server-side dry-run answers cached between comparisons.
# TYPE soll_dry_run_cache_entries gauge
soll_dry_run_cache_entries 0
# HELP soll_git_requests_total Requests soll made to Git remotes, by repository and kind (ls-remote, fetch).
# TYPE soll_git_requests_total counter
soll_git_requests_total{kind="fetch",repo="https://git.example.com/config"} 2
soll_git_requests_total{kind="ls-remote",repo="https://git.example.com/config"} 3
# HELP soll_render_cache_entries Render results cached (an unchanged app at a cached commit costs no render).
# TYPE soll_render_cache_entries gauge
soll_render_cache_entries 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

// TestUndeliveredProjectChangesAreCounted: a changed Project, settings
// ConfigMap or Secret whose apps cannot be listed wakes none of them; that
// is counted, not silent.
func TestUndeliveredProjectChangesAreCounted(t *testing.T) {
	c := fakeClient(t).WithInterceptorFuncs(interceptor.Funcs{
		List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
			return errors.New("cache not started")
		},
	}).Build()
	r := &Reconciler{Client: c, Log: slog.New(slog.DiscardHandler)}
	before := testutil.ToFloat64(droppedEvents.WithLabelValues("project"))
	proj := &sollv1.Project{ObjectMeta: metav1.ObjectMeta{Namespace: "soll", Name: "team-a"}}
	if reqs := r.projectApps(context.Background(), proj); len(reqs) != 0 {
		t.Fatalf("requests without a list: %v", reqs)
	}
	if got := testutil.ToFloat64(droppedEvents.WithLabelValues("project")); got != before+1 {
		t.Errorf("soll_dropped_events_total{source=project} = %v, want %v", got, before+1)
	}
	for _, change := range []func() []reconcile.Request{
		func() []reconcile.Request {
			return r.configMapApps(context.Background(), configMap(sollv1.SettingsConfigMap))
		},
		func() []reconcile.Request {
			return r.secretApps(context.Background(), repoSecret("creds", sollv1.SecretTypeRepository, "https://git.example.com/a.git", nil))
		},
		// A Secret that may lend its values: the repository Secrets
		// that would borrow them cannot be listed either.
		func() []reconcile.Request {
			return r.secretApps(context.Background(), secret("vault-synced", nil, nil))
		},
	} {
		before := testutil.ToFloat64(droppedEvents.WithLabelValues("configuration"))
		if reqs := change(); len(reqs) != 0 {
			t.Fatalf("requests without a list: %v", reqs)
		}
		if got := testutil.ToFloat64(droppedEvents.WithLabelValues("configuration")); got != before+1 {
			t.Errorf("soll_dropped_events_total{source=configuration} = %v, want %v", got, before+1)
		}
	}
}
