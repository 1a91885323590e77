package metrics_test

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/serve/servetest"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// TestMetricsEndpoint runs soll (controller and API, as `soll run` does)
// with a metrics address, has it sync an application and answer API
// requests, and scrapes /metrics: every metric the dashboards and alerts
// use is there with its type and label names, the values follow what
// happened, and no label carries a raw request path.
func TestMetricsEndpoint(t *testing.T) {
	start := time.Now()
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns, dest := env.Namespace(t), env.Namespace(t)
	ctx := context.Background()
	git := gitserver.NewHTTP(t, gitserver.HTTPOptions{})
	git.CreateRepo(t, "config", "")
	git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: "v1", Files: map[string]string{
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  text: hello\n",
	}})
	metricsAddr := servetest.FreeAddr(t)
	base := servetest.Start(t, env, ns, servetest.Options{MetricsAddr: metricsAddr})

	app := &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "greeting"},
		Spec: sollv1.ApplicationSpec{
			Source:      &sollv1.ApplicationSource{RepoURL: git.HTTPURL("config"), TargetRevision: "main", Path: "app"},
			Destination: sollv1.ApplicationDestination{Server: appstate.InClusterServer, Namespace: dest},
			SyncPolicy:  &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}},
		},
	}
	if err := env.Client.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err := testenv.Eventually(wctx, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		var got sollv1.Application
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(app), &got); err != nil {
			return false, err
		}
		op := got.Status.OperationState
		return got.Status.Sync != nil && got.Status.Sync.Status == sollv1.SyncStatusSynced &&
			got.Status.Health != nil && got.Status.Health.Status == sollv1.HealthHealthy &&
			op != nil && op.Phase == sollv1.OperationSucceeded, nil
	})
	if err != nil {
		t.Fatalf("waiting for the app to be synced and healthy: %v", err)
	}

	// API requests, all refused (no credentials): by route template, the
	// name in the path is no label; a path matching no route is "other".
	// The web UI's page of an app sends the browser to the login page.
	for _, p := range []string{"/api/v1/applications", "/api/v1/applications/secret-app-name", "/no-such-path-xyz", "/applications/secret-app-name"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Post(base+"/api/webhook", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	webhookCode := resp.StatusCode

	// The application gauge is computed from the cache at scrape time:
	// poll until the cache has the final status.
	var families map[string]*dto.MetricFamily
	err = testenv.Eventually(wctx, 50*time.Millisecond, func(context.Context) (bool, error) {
		families = scrape(t, "http://"+metricsAddr+"/metrics")
		return value(families, "soll_applications", map[string]string{"sync_status": "Synced", "health_status": "Healthy", "project": "default"}) == 1, nil
	})
	if err != nil {
		t.Fatalf("soll_applications{Synced,Healthy,default} never 1: %v", err)
	}

	want := []struct {
		name   string
		typ    dto.MetricType
		labels []string
	}{
		{"soll_applications", dto.MetricType_GAUGE, []string{"health_status", "project", "sync_status"}},
		{"soll_sync_operations_total", dto.MetricType_COUNTER, []string{"initiator", "result"}},
		{"soll_sync_operation_duration_seconds", dto.MetricType_HISTOGRAM, []string{"result"}},
		{"soll_compare_duration_seconds", dto.MetricType_HISTOGRAM, []string{"outcome"}},
		{"soll_git_request_duration_seconds", dto.MetricType_HISTOGRAM, []string{"operation", "outcome"}},
		{"soll_git_requests_total", dto.MetricType_COUNTER, []string{"kind", "repo"}},
		{"soll_render_duration_seconds", dto.MetricType_HISTOGRAM, []string{"outcome", "tool"}},
		{"soll_render_cache_entries", dto.MetricType_GAUGE, nil},
		{"soll_dry_run_cache_entries", dto.MetricType_GAUGE, nil},
		{"soll_api_requests_total", dto.MetricType_COUNTER, []string{"code", "method", "route"}},
		{"soll_api_request_duration_seconds", dto.MetricType_HISTOGRAM, []string{"method", "route"}},
		{"soll_cluster_reachable", dto.MetricType_GAUGE, []string{"cluster"}},
		{"soll_cluster_last_contact_timestamp_seconds", dto.MetricType_GAUGE, []string{"cluster"}},
		{"workqueue_depth", dto.MetricType_GAUGE, []string{"controller", "name", "priority"}},
		{"workqueue_queue_duration_seconds", dto.MetricType_HISTOGRAM, []string{"controller", "name"}},
		{"controller_runtime_reconcile_total", dto.MetricType_COUNTER, []string{"controller", "result"}},
	}
	for _, w := range want {
		f := families[w.name]
		if f == nil {
			t.Errorf("%s: missing from /metrics", w.name)
			continue
		}
		if f.GetType() != w.typ {
			t.Errorf("%s: type %v, want %v", w.name, f.GetType(), w.typ)
		}
		for _, m := range f.GetMetric() {
			var names []string
			for _, l := range m.GetLabel() {
				names = append(names, l.GetName())
			}
			slices.Sort(names)
			if !slices.Equal(names, w.labels) {
				t.Errorf("%s: labels %v, want %v", w.name, names, w.labels)
				break
			}
		}
	}

	// The values follow what happened.
	for _, c := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"soll_sync_operations_total", map[string]string{"result": "succeeded", "initiator": "automated"}, 1},
		{"soll_git_request_duration_seconds", map[string]string{"operation": "ls-remote", "outcome": "ok"}, 1},
		{"soll_git_request_duration_seconds", map[string]string{"operation": "fetch", "outcome": "ok"}, 1},
		{"soll_render_duration_seconds", map[string]string{"tool": "Directory", "outcome": "ok"}, 1},
		{"soll_render_cache_entries", nil, 1},
		{"soll_api_requests_total", map[string]string{"route": "/api/v1/applications", "method": "GET", "code": "401"}, 1},
		{"soll_api_requests_total", map[string]string{"route": "/api/v1/applications/{name}", "method": "GET", "code": "401"}, 1},
		{"soll_api_requests_total", map[string]string{"route": "other", "method": "GET", "code": "404"}, 1},
		{"soll_api_requests_total", map[string]string{"route": "/applications/{name}", "method": "GET", "code": "303"}, 1},
		{"soll_api_requests_total", map[string]string{"route": "/login", "method": "GET", "code": "200"}, 1},
		{"soll_api_requests_total", map[string]string{"route": "/api/webhook", "method": "POST", "code": strconv.Itoa(webhookCode)}, 1},
		{"workqueue_depth", map[string]string{"name": "application"}, 0},
		{"soll_cluster_reachable", map[string]string{"cluster": "in-cluster"}, 1},
		{"soll_cluster_last_contact_timestamp_seconds", map[string]string{"cluster": "in-cluster"}, float64(start.Unix())},
	} {
		if v := value(families, c.name, c.labels); v < 0 {
			t.Errorf("%s%v: missing", c.name, c.labels)
		} else if v < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, v, c.min)
		}
	}

	// The other metrics the operations guide names.
	for _, name := range []string{"workqueue_work_duration_seconds", "workqueue_retries_total",
		"controller_runtime_reconcile_time_seconds", "rest_client_requests_total"} {
		if families[name] == nil {
			t.Errorf("%s: missing from /metrics", name)
		}
	}
	checkMonitoringNames(t, families)

	// Bounded labels: no raw path or app name is a label value.
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "secret-app-name") || strings.Contains(l.GetValue(), "no-such-path") {
					t.Errorf("%s: label %s=%q is a raw path", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// value is the value of the series of name with labels (a subset of its
// labels): the sum of a counter or gauge, the count of a histogram; -1
// when there is none.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
	v, found := 0.0, false
	for _, m := range f.GetMetric() {
		if !matches(m, labels) {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			v += m.Counter.GetValue()
		case m.Gauge != nil:
			v += m.Gauge.GetValue()
		case m.Histogram != nil:
			v += float64(m.Histogram.GetSampleCount())
		}
	}
	if !found {
		return -1
	}
	return v
}

func matches(m *dto.Metric, labels map[string]string) bool {
	for k, want := range labels {
		ok := false
		for _, l := range m.GetLabel() {
			if l.GetName() == k && l.GetValue() == want {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
