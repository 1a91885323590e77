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

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/source/git"
)

type fakeStats map[string]git.RepoStats

func (f fakeStats) Stats() map[string]git.RepoStats { return f }

func TestGitCollector(t *testing.T) {
	c := newGitCollector(fakeStats{"https://git.example.com/config": {RefLists: 3, Fetches: 2}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	want := `
# HELP soll_git_requests_total Requests soll made to Git remotes, by repository and kind (ls-remote, fetch).
# TYPE soll_git_requests_total counter
soll_git_requests_total{kind="fetch",repo="https://git.example.com/config"} 2
soll_git_requests_total{kind="ls-remote",repo="https://git.example.com/config"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "soll_git_requests_total"); err != nil {
		t.Fatal(err)
	}
}

// TestUndeliveredProjectChangesAreCounted: a changed Project whose apps
// cannot be listed wakes none of them; that is counted, not silent.
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
}
