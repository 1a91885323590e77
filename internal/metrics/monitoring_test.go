package metrics_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/yaml"
)

// monitoringDir holds the dashboard and alerts shipped with soll.
var monitoringDir = filepath.Join("..", "..", "deploy", "monitoring")

// dashboardExprs returns the queries of the Grafana dashboard, by panel
// title.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(monitoringDir, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("grafana-dashboard.json: uid %q, %d panels", d.UID, len(d.Panels))
	}
	out := map[string]string{}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("grafana-dashboard.json: panel %q has no query", p.Title)
		}
		for i, tg := range p.Targets {
			out[p.Title+" #"+string(rune('A'+i))] = tg.Expr
		}
	}
	return out
}

// ruleExprs returns the expressions of the PrometheusRule's alerts, by
// alert name, checking that each alert says what it is.
func ruleExprs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(monitoringDir, "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Alert       string            `json:"alert"`
					Expr        string            `json:"expr"`
					For         string            `json:"for"`
					Labels      map[string]string `json:"labels"`
					Annotations map[string]string `json:"annotations"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(b, &r); err != nil {
		t.Fatalf("prometheusrule.yaml: %v", err)
	}
	if r.APIVersion != "monitoring.coreos.com/v1" || r.Kind != "PrometheusRule" {
		t.Fatalf("prometheusrule.yaml: %s %s, want monitoring.coreos.com/v1 PrometheusRule", r.APIVersion, r.Kind)
	}
	out := map[string]string{}
	for _, g := range r.Spec.Groups {
		for _, rule := range g.Rules {
			if rule.Alert == "" || rule.Expr == "" || rule.Labels["severity"] == "" || rule.Annotations["summary"] == "" {
				t.Errorf("prometheusrule.yaml: rule %q needs alert, expr, labels.severity and annotations.summary", rule.Alert)
			}
			out[rule.Alert] = rule.Expr
		}
	}
	return out
}

// TestMonitoringFiles: the dashboard is valid JSON and the rules a valid
// PrometheusRule, with the alerts the operations guide documents, and
// every query is balanced.
func TestMonitoringFiles(t *testing.T) {
	rules := ruleExprs(t)
	for _, a := range []string{"SollApplicationDegraded", "SollSyncFailures", "SollComparisonErrors", "SollQueueBacklog", "SollDroppedEvents", "SollGitErrors", "SollClusterUnreachable"} {
		if rules[a] == "" {
			t.Errorf("prometheusrule.yaml: no alert %s", a)
		}
	}
	all := dashboardExprs(t)
	for k, v := range rules {
		all[k] = v
	}
	for where, expr := range all {
		if err := balanced(expr); err != "" {
			t.Errorf("%s: %s in %q", where, err, expr)
		}
	}
}

// balanced reports unbalanced brackets or quotes in a query.
func balanced(expr string) string {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inQuote := false
	for _, c := range expr {
		switch {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
		case pairs[c] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return "unbalanced " + string(c)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if inQuote || len(stack) > 0 {
		return "unclosed bracket or quote"
	}
	return ""
}

var (
	metricName = regexp.MustCompile(`\b(soll_|workqueue_|controller_runtime_)[a-z_]+`)
	selector   = regexp.MustCompile(`\b((?:soll_|workqueue_|controller_runtime_)[a-z_]+)\{([^}]*)\}`)
	matcher    = regexp.MustCompile(`([a-z_]+)\s*(?:=~|!~|!=|=)`)
)

// checkMonitoringNames checks that every metric the dashboard and the
// alerts query is in a scrape of soll, and every label they match on is
// one of its labels (or job, which Prometheus adds).
func checkMonitoringNames(t *testing.T, families map[string]*dto.MetricFamily) {
	t.Helper()
	all := dashboardExprs(t)
	for k, v := range ruleExprs(t) {
		all[k] = v
	}
	family := func(name string) *dto.MetricFamily {
		if f := families[name]; f != nil {
			return f
		}
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if base, ok := strings.CutSuffix(name, suffix); ok {
				if f := families[base]; f != nil && f.GetType() == dto.MetricType_HISTOGRAM {
					return f
				}
			}
		}
		return nil
	}
	for where, expr := range all {
		for _, name := range metricName.FindAllString(expr, -1) {
			if family(name) == nil {
				t.Errorf("%s: metric %s is not in soll's /metrics", where, name)
			}
		}
		for _, sel := range selector.FindAllStringSubmatch(expr, -1) {
			f := family(sel[1])
			if f == nil || len(f.GetMetric()) == 0 {
				continue
			}
			have := map[string]bool{"job": true}
			for _, l := range f.GetMetric()[0].GetLabel() {
				have[l.GetName()] = true
			}
			for _, m := range matcher.FindAllStringSubmatch(sel[2], -1) {
				if !have[m[1]] {
					t.Errorf("%s: %s has no label %s", where, sel[1], m[1])
				}
			}
		}
	}
}
