package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

func TestPaginationUnderConcurrentCreates(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	var g errgroup.Group
	g.SetLimit(16)
	for i := range 250 {
		g.Go(func() error {
			app := &sollv1.Application{}
			app.Name, app.Namespace = fmt.Sprintf("app-%03d", 2*i), h.ns
			app.Spec.Source = &sollv1.ApplicationSource{RepoURL: "https://git.example.com/apps.git", Path: "p"}
			app.Spec.Destination = sollv1.ApplicationDestination{Server: InClusterServer, Namespace: "ns"}
			return h.env.Client.Create(ctx, app)
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	h.eventually(30*time.Second, "250 apps in the cache", func() bool {
		_, l := h.listNames("admin-token", "?limit=1")
		return l.Total == 250
	})

	// While the pages are read, apps are added between and around the
	// existing names.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			app := &sollv1.Application{}
			app.Name, app.Namespace = fmt.Sprintf("app-%03d", 2*i+1), h.ns
			app.Spec.Source = &sollv1.ApplicationSource{RepoURL: "https://git.example.com/apps.git", Path: "p"}
			app.Spec.Destination = sollv1.ApplicationDestination{Server: InClusterServer, Namespace: "ns"}
			if err := h.env.Client.Create(ctx, app); err != nil {
				t.Errorf("concurrent create: %v", err)
				return
			}
		}
	}()
	seen := map[string]int{}
	tok, pages := "", 0
	for {
		names, l := h.listNames("admin-token", "?limit=40&continue="+url.QueryEscape(tok))
		pages++
		for _, n := range names {
			seen[n]++
		}
		if tok = l.Continue; tok == "" {
			break
		}
	}
	close(stop)
	wg.Wait()
	for n, c := range seen {
		if c > 1 {
			t.Errorf("%s listed %d times", n, c)
		}
	}
	for i := range 250 {
		if n := fmt.Sprintf("app-%03d", 2*i); seen[n] != 1 {
			t.Errorf("%s listed %d times, want once", n, seen[n])
		}
	}
	if pages < 7 {
		t.Errorf("read %d pages of 40, want at least 7", pages)
	}
	status, b := h.do(http.MethodGet, "/api/v1/applications?limit=1001", "admin-token", nil)
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "limit")
	status, b = h.do(http.MethodGet, "/api/v1/applications?continue=garbage!", "admin-token", nil)
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "continue")
}

func TestFiltersAndSort(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	h.createApp("a-web", "p1", "web", map[string]string{"team": "a"})
	h.createApp("b-db", "p2", "db", map[string]string{"team": "b"})
	h.createApp("c-web2", "p1", "web", map[string]string{"team": "b"})
	h.createApp("d-cache", "p2", "cache", nil)
	// e-remote deploys to a registered cluster by name, f-local to the
	// cluster soll runs in by name.
	for name, dest := range map[string]sollv1.ApplicationDestination{
		"e-remote": {Name: "prod", Namespace: "edge"},
		"f-local":  {Name: sollv1.InClusterName, Namespace: "edge"},
	} {
		app := &sollv1.Application{}
		app.Name, app.Namespace = name, h.ns
		app.Spec.Source = &sollv1.ApplicationSource{RepoURL: "https://git.example.com/apps.git", Path: name}
		app.Spec.Destination = dest
		if err := h.env.Client.Create(context.Background(), app); err != nil {
			t.Fatal(err)
		}
	}
	h.setStatus("a-web", func(s *sollv1.ApplicationStatus) {
		s.Sync = &sollv1.SyncStatus{Status: sollv1.SyncStatusSynced}
		s.Health = &sollv1.HealthStatus{Status: sollv1.HealthHealthy}
		s.History = []sollv1.RevisionHistory{{ID: 1, DeployedAt: metav1.NewTime(now.Add(-3 * time.Hour))}, {ID: 2, DeployedAt: metav1.NewTime(now.Add(-time.Hour))}}
	})
	h.setStatus("b-db", func(s *sollv1.ApplicationStatus) {
		s.Sync = &sollv1.SyncStatus{Status: sollv1.SyncStatusOutOfSync}
		s.Health = &sollv1.HealthStatus{Status: sollv1.HealthDegraded}
		s.History = []sollv1.RevisionHistory{{ID: 1, DeployedAt: metav1.NewTime(now.Add(-2 * time.Hour))}}
	})
	h.setStatus("d-cache", func(s *sollv1.ApplicationStatus) {
		s.Sync = &sollv1.SyncStatus{Status: sollv1.SyncStatusSynced}
		s.Health = &sollv1.HealthStatus{Status: sollv1.HealthProgressing}
	})
	h.eventually(10*time.Second, "the statuses in the cache", func() bool {
		names, _ := h.listNames("admin-token", "?health=Progressing")
		return len(names) == 1
	})
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"a-web", "b-db", "c-web2", "d-cache", "e-remote", "f-local"}},
		{"?project=p1", []string{"a-web", "c-web2"}},
		{"?project=p1,p2&syncStatus=Synced", []string{"a-web", "d-cache"}},
		{"?syncStatus=Unknown&namespace=web,db,cache", []string{"c-web2"}},
		{"?cluster=prod", []string{"e-remote"}},
		{"?cluster=in-cluster&namespace=edge", []string{"f-local"}},
		{"?cluster=" + url.QueryEscape(InClusterServer) + "&namespace=edge,db", []string{"b-db", "f-local"}},
		{"?cluster=prod,in-cluster&search=remote", []string{"e-remote"}},
		{"?cluster=nowhere", []string{}},
		{"?health=Healthy,Degraded", []string{"a-web", "b-db"}},
		{"?namespace=web", []string{"a-web", "c-web2"}},
		{"?selector=team%3Db", []string{"b-db", "c-web2"}},
		{"?selector=team", []string{"a-web", "b-db", "c-web2"}},
		{"?search=WEB", []string{"a-web", "c-web2"}},
		{"?sort=-name&project=p1,p2", []string{"d-cache", "c-web2", "b-db", "a-web"}},
		{"?sort=syncedAt&project=p1,p2", []string{"c-web2", "d-cache", "b-db", "a-web"}},
		{"?sort=-syncedAt&project=p1,p2", []string{"a-web", "b-db", "d-cache", "c-web2"}},
		{"?sort=health&project=p1,p2", []string{"b-db", "d-cache", "c-web2", "a-web"}},
		{"?sort=health&namespace=web", []string{"c-web2", "a-web"}},
	}
	for _, tt := range tests {
		got, l := h.listNames("admin-token", tt.query)
		if !cmp.Equal(got, tt.want) || l.Total != len(tt.want) {
			t.Errorf("list%s = %v (total %d), want %v", tt.query, got, l.Total, tt.want)
		}
	}
	// The counts: by sync status with every filter but the sync
	// status's, by health with every filter but health's.
	for q, want := range map[string]apitypes.AppCounts{
		"?project=p1,p2": {
			Sync:   map[string]int{"Synced": 2, "OutOfSync": 1, "Unknown": 1},
			Health: map[string]int{"Healthy": 1, "Degraded": 1, "Progressing": 1, "Unknown": 1},
		},
		"?project=p1,p2&syncStatus=Synced&limit=1": {
			Sync:   map[string]int{"Synced": 2, "OutOfSync": 1, "Unknown": 1},
			Health: map[string]int{"Healthy": 1, "Progressing": 1},
		},
		"?project=p1,p2&syncStatus=Synced&health=Healthy": {
			Sync:   map[string]int{"Synced": 1},
			Health: map[string]int{"Healthy": 1, "Progressing": 1},
		},
		"?cluster=nowhere": {Sync: map[string]int{}, Health: map[string]int{}},
	} {
		if _, l := h.listNames("admin-token", q); !cmp.Equal(l.Counts, want) {
			t.Errorf("counts of list%s = %+v, want %+v", q, l.Counts, want)
		}
	}
	// Pages follow the same order, one app at a time, forward and back.
	var paged, previous []string
	var back []string
	for tok := ""; ; {
		names, l := h.listNames("admin-token", "?sort=health&project=p1,p2&limit=1&continue="+url.QueryEscape(tok))
		paged = append(paged, names...)
		previous = append(previous, l.Previous)
		if tok = l.Continue; tok == "" {
			break
		}
		status, b := h.do(http.MethodGet, "/api/v1/applications?sort=name&continue="+url.QueryEscape(tok), "admin-token", nil)
		h.wantError(status, b, http.StatusBadRequest, "Invalid", "continue")
	}
	if want := []string{"b-db", "d-cache", "c-web2", "a-web"}; !cmp.Equal(paged, want) {
		t.Errorf("paged by health: %v, want %v", paged, want)
	}
	if previous[0] != "" {
		t.Errorf("the first page has a previous page: %q", previous[0])
	}
	for tok := previous[len(previous)-1]; tok != ""; {
		names, l := h.listNames("admin-token", "?sort=health&project=p1,p2&limit=1&continue="+url.QueryEscape(tok))
		back = append(back, names...)
		tok = l.Previous
	}
	if want := []string{"c-web2", "d-cache", "b-db"}; !cmp.Equal(back, want) {
		t.Errorf("paged back by health from the last page: %v, want %v", back, want)
	}
	// Two apps a page: back from the last page gives the two before it.
	_, l := h.listNames("admin-token", "?project=p1,p2&limit=2")
	_, l = h.listNames("admin-token", "?project=p1,p2&limit=2&continue="+url.QueryEscape(l.Continue))
	if names, _ := h.listNames("admin-token", "?project=p1,p2&limit=2&continue="+url.QueryEscape(l.Previous)); !cmp.Equal(names, []string{"a-web", "b-db"}) {
		t.Errorf("the page before [c-web2 d-cache]: %v, want [a-web b-db]", names)
	}
	for _, q := range []string{"?sort=age", "?selector=a%20in"} {
		status, b := h.do(http.MethodGet, "/api/v1/applications"+q, "admin-token", nil)
		h.wantError(status, b, http.StatusBadRequest, "Invalid", map[string]string{"?sort=age": "sort", "?selector=a%20in": "selector"}[q])
	}
}
