// Package metrics holds the Prometheus metrics that soll's engine packages
// (Git, rendering, the API server) record, registered with
// controller-runtime's registry so that the controller's metrics address
// serves them beside its own. Packages record through the functions here
// and never import the controller.
//
// Every label has a bounded set of values: operations, tools, outcomes,
// route templates, methods and status codes; never a raw path, an
// application or a repository URL.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	gitDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "soll_git_request_duration_seconds",
		Help:    "Duration of requests to Git remotes, by operation (ls-remote, fetch) and outcome (ok, error).",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
	}, []string{"operation", "outcome"})
	renderDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "soll_render_duration_seconds",
		Help:    "Duration of renders that ran (cached results are not renders), by tool (Kustomize, Helm, Jsonnet, Plugin, Directory) and outcome (ok, error).",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"tool", "outcome"})
	httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "soll_api_requests_total",
		Help: "Requests to the API server, by route template, method and status code.",
	}, []string{"route", "method", "code"})
	httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "soll_api_request_duration_seconds",
		Help:    "Duration of requests to the API server (event streams: until they end), by route template and method.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"route", "method"})
	clusterReachable = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "soll_cluster_reachable",
		Help: "1 when soll's last request to the cluster's API server got an answer, 0 when it could not connect or timed out, by cluster (in-cluster: the cluster soll runs in).",
	}, []string{"cluster"})
	clusterLastContact = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "soll_cluster_last_contact_timestamp_seconds",
		Help: "Unix time of the last answer of the cluster's API server to soll, by cluster.",
	}, []string{"cluster"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(gitDuration, renderDuration, httpRequests, httpDuration, clusterReachable, clusterLastContact)
}

// InCluster is the cluster label of the cluster soll runs in.
const InCluster = "in-cluster"

// ClusterReachability wraps a transport to a cluster's API server so that
// every request records whether the server answered
// (soll_cluster_reachable, soll_cluster_last_contact_timestamp_seconds):
// any HTTP answer, an error status included, shows it reachable; a
// request that fails without one (connection refused, TLS, timeout)
// shows it unreachable, unless the caller cancelled it. It watches the
// requests soll makes anyway (watches that reconnect, reads, applies):
// it sends none of its own. Each observer is told the same outcomes: nil
// for an answer, the error of a request that got none.
func ClusterReachability(cluster string, observers ...func(err error)) func(http.RoundTripper) http.RoundTripper {
	return func(rt http.RoundTripper) http.RoundTripper {
		return &reachability{cluster: cluster, next: rt, observers: observers}
	}
}

// reachability is the transport ClusterReachability wraps around next.
type reachability struct {
	cluster   string
	next      http.RoundTripper
	observers []func(err error)
}

func (t *reachability) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	switch {
	case err == nil:
		clusterReachable.WithLabelValues(t.cluster).Set(1)
		clusterLastContact.WithLabelValues(t.cluster).Set(float64(time.Now().UnixNano()) / 1e9)
	case r.Context().Err() == nil:
		clusterReachable.WithLabelValues(t.cluster).Set(0)
	default:
		return resp, err // cancelled by the caller: says nothing of the server
	}
	for _, observe := range t.observers {
		observe(err)
	}
	return resp, err
}

// WrappedRoundTripper lets client-go reach the transport underneath
// (k8s.io/apimachinery's net.RoundTripperWrapper): it cancels a request
// there when its timeout passes, instead of logging that it cannot.
func (t *reachability) WrappedRoundTripper() http.RoundTripper { return t.next }

func outcome(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// ObserveGit records one request to a Git remote; operation is
// "ls-remote" or "fetch".
func ObserveGit(operation string, err error, started time.Time) {
	gitDuration.WithLabelValues(operation, outcome(err)).Observe(time.Since(started).Seconds())
}

// ObserveRender records one render by tool.
func ObserveRender(tool string, err error, started time.Time) {
	renderDuration.WithLabelValues(tool, outcome(err)).Observe(time.Since(started).Seconds())
}

// ObserveHTTP records one API request. route is the template the request
// matched ("/api/v1/applications/{name}"), or "" when it matched none,
// recorded as "other"; methods outside the standard ones are "other" too.
func ObserveHTTP(route, method string, code int, started time.Time) {
	if route == "" || route == "/" {
		route = "other"
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
	}
	httpRequests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	httpDuration.WithLabelValues(route, method).Observe(time.Since(started).Seconds())
}

// Handler records the requests h serves under the fixed route template
// route, for handlers served outside the API's own router (webhooks,
// sessions, SSO).
func Handler(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := NewRecorder(w)
		defer func() { ObserveHTTP(route, r.Method, rec.Status, start) }()
		h.ServeHTTP(rec, r)
	})
}

// Recorder remembers a response's status code and size, for metrics and
// access logs; Unwrap lets http.ResponseController reach the Flusher of
// event streams.
type Recorder struct {
	http.ResponseWriter
	// Status is the status code sent (200 until one is written).
	Status int
	// Bytes is the size of the body written.
	Bytes       int64
	wroteHeader bool
}

// NewRecorder records what is written to w.
func NewRecorder(w http.ResponseWriter) *Recorder {
	return &Recorder{ResponseWriter: w, Status: http.StatusOK}
}

func (w *Recorder) WriteHeader(code int) {
	if !w.wroteHeader {
		w.Status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *Recorder) Write(b []byte) (int, error) {
	w.wroteHeader = true
	n, err := w.ResponseWriter.Write(b)
	w.Bytes += int64(n)
	return n, err
}

func (w *Recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
