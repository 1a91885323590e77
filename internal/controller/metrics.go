package controller

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/diff"
	"soll.dev/internal/source/git"
)

// soll's own metrics, served with controller-runtime's (reconcile counts
// and durations, work queue depth, client request counts) on the metrics
// address.
var (
	syncOperations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "soll_sync_operations_total",
		Help: "Sync operations finished, by result (succeeded, failed) and initiator (user, automated).",
	}, []string{"result", "initiator"})
	syncDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "soll_sync_operation_duration_seconds",
		Help:    "Duration of sync operations, from start to finish.",
		Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
	}, []string{"result"})
	compareDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "soll_compare_duration_seconds",
		Help:    "Duration of comparing an application with the cluster (fetch, render, diff, health), by outcome (ok, error, or unchanged: nothing it depends on changed since the last comparison, which stands).",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"outcome"})
	droppedEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "soll_dropped_events_total",
		Help: "Changes that could not wake the applications they concern, by source: project (the applications of a changed Project could not be listed; they see the change at their next refresh), live (a kind's watch could not be set up; retried at the next comparison that needs it), configuration (the applications a changed settings ConfigMap, known hosts, repository or SOPS key Secret concerns could not be listed; they see the change at their next refresh).",
	}, []string{"source"})
)

func init() {
	metrics.Registry.MustRegister(syncOperations, syncDuration, compareDuration, droppedEvents)
	// Series start at zero, so that the first event is an increase and
	// queries see every series before it happens.
	for _, result := range []string{"succeeded", "failed"} {
		for _, initiator := range []string{"user", "automated"} {
			syncOperations.WithLabelValues(result, initiator)
		}
	}
	for _, source := range []string{"project", "live", "configuration", "dependency"} {
		droppedEvents.WithLabelValues(source)
	}
}

func observeSync(ok, automated bool, started time.Time) {
	result, initiator := "failed", "user"
	if ok {
		result = "succeeded"
	}
	if automated {
		initiator = "automated"
	}
	syncOperations.WithLabelValues(result, initiator).Inc()
	syncDuration.WithLabelValues(result).Observe(time.Since(started).Seconds())
}

func observeCompare(err error, started time.Time) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	compareDuration.WithLabelValues(outcome).Observe(time.Since(started).Seconds())
}

func observeUnchanged(started time.Time) {
	compareDuration.WithLabelValues("unchanged").Observe(time.Since(started).Seconds())
}

// stateCollector computes, at each scrape, the metrics that describe the
// current state rather than count events: Applications by status (read
// from the manager's cache, no API request), cache sizes and the Git
// fetcher's counters. It is registered once per process; the last
// controller set up in the process is the one it reads (tests build
// several in turn).
type stateCollector struct {
	current atomic.Pointer[stateSources]

	apps, renderCache, dryRunCache, gitRequests *prometheus.Desc
}

// stateSources are what one controller's state metrics read.
type stateSources struct {
	client  client.Reader
	ns      string
	render  interface{ Len() int }
	dryRuns *diff.DryRunCache
	// clusters hold the dry-run caches of the registered clusters.
	clusters *clusterSet
	git      gitStats
}

// gitStats is what the Git metrics read.
type gitStats interface {
	Stats() map[string]git.RepoStats
}

// state is the process's stateCollector.
var state = newStateCollector()

func newStateCollector() *stateCollector {
	return &stateCollector{
		apps: prometheus.NewDesc("soll_applications",
			"Applications, by sync status, health status and project; from the controller's cache at scrape time.",
			[]string{"sync_status", "health_status", "project"}, nil),
		renderCache: prometheus.NewDesc("soll_render_cache_entries",
			"Render results cached (an unchanged app at a cached commit costs no render).", nil, nil),
		dryRunCache: prometheus.NewDesc("soll_dry_run_cache_entries",
			"Server-side dry-run answers cached between comparisons.", nil, nil),
		gitRequests: prometheus.NewDesc("soll_git_requests_total",
			"Requests soll made to Git remotes, by repository and kind (ls-remote, fetch).",
			[]string{"repo", "kind"}, nil),
	}
}

func init() { metrics.Registry.MustRegister(state) }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.apps
	ch <- c.renderCache
	ch <- c.dryRunCache
	ch <- c.gitRequests
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.current.Load()
	if s == nil {
		return
	}
	c.collectApps(ch, s)
	if s.render != nil {
		ch <- prometheus.MustNewConstMetric(c.renderCache, prometheus.GaugeValue, float64(s.render.Len()))
	}
	if s.dryRuns != nil {
		n := s.dryRuns.Len()
		if s.clusters != nil {
			n += s.clusters.dryRunEntries()
		}
		ch <- prometheus.MustNewConstMetric(c.dryRunCache, prometheus.GaugeValue, float64(n))
	}
	for repo, st := range s.git.Stats() {
		ch <- prometheus.MustNewConstMetric(c.gitRequests, prometheus.CounterValue, float64(st.RefLists), repo, "ls-remote")
		ch <- prometheus.MustNewConstMetric(c.gitRequests, prometheus.CounterValue, float64(st.Fetches), repo, "fetch")
	}
}

// collectApps counts the Applications of the cache by status. An app not
// yet compared counts as sync status and health "Unknown". Before the
// cache has started (no scrape should see that for long) nothing is
// reported.
func (c *stateCollector) collectApps(ch chan<- prometheus.Metric, s *stateSources) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list sollv1.ApplicationList
	if err := s.client.List(ctx, &list, client.InNamespace(s.ns)); err != nil {
		return
	}
	type key struct{ sync, health, project string }
	counts := map[key]int{}
	for i := range list.Items {
		st := &list.Items[i].Status
		k := key{"Unknown", "Unknown", list.Items[i].Spec.Project}
		if st.Sync != nil && st.Sync.Status != "" {
			k.sync = string(st.Sync.Status)
		}
		if st.Health != nil && st.Health.Status != "" {
			k.health = string(st.Health.Status)
		}
		counts[k]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.apps, prometheus.GaugeValue, float64(n), k.sync, k.health, k.project)
	}
}
