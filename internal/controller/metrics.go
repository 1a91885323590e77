package controller

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

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
		Help: "Changes that could not wake the applications they concern, by source: project (the applications of a changed Project could not be listed; they see the change at their next refresh), live (a kind's watch could not be set up; retried at the next comparison that needs it).",
	}, []string{"source"})
)

func init() {
	metrics.Registry.MustRegister(syncOperations, syncDuration, compareDuration, droppedEvents)
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

// gitStats is what the Git metrics read.
type gitStats interface {
	Stats() map[string]git.RepoStats
}

// gitCollector exposes the Git fetcher's counters per repository, so
// operators can see that Git traffic grows with repositories, not apps.
type gitCollector struct {
	stats    gitStats
	requests *prometheus.Desc
}

func newGitCollector(s gitStats) *gitCollector {
	return &gitCollector{stats: s, requests: prometheus.NewDesc(
		"soll_git_requests_total",
		"Requests soll made to Git remotes, by repository and kind (ls-remote, fetch).",
		[]string{"repo", "kind"}, nil)}
}

func (c *gitCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.requests }

func (c *gitCollector) Collect(ch chan<- prometheus.Metric) {
	for repo, s := range c.stats.Stats() {
		ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(s.RefLists), repo, "ls-remote")
		ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(s.Fetches), repo, "fetch")
	}
}
