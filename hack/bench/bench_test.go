package main

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
)

func TestSpreadApps(t *testing.T) {
	for _, tc := range []struct{ n, k int }{{1, 1}, {10, 1}, {10, 3}, {300, 3}, {2, 3}, {1000, 7}} {
		got := spreadApps(tc.n, tc.k)
		if len(got) != tc.n {
			t.Fatalf("spreadApps(%d, %d): %d assignments", tc.n, tc.k, len(got))
		}
		counts := make([]int, tc.k)
		for i, c := range got {
			if c < 0 || c >= tc.k {
				t.Fatalf("spreadApps(%d, %d): app %d to cluster %d", tc.n, tc.k, i, c)
			}
			counts[c]++
		}
		if slices.Max(counts)-slices.Min(counts) > 1 {
			t.Errorf("spreadApps(%d, %d): uneven shares %v", tc.n, tc.k, counts)
		}
	}
	if got := spreadApps(5, 2); !slices.Equal(got, []int{0, 1, 0, 1, 0}) {
		t.Errorf("spreadApps(5, 2) = %v, want round robin", got)
	}
}

func TestHostOf(t *testing.T) {
	if h, err := hostOf("https://127.0.0.1:41234"); err != nil || h != "127.0.0.1:41234" {
		t.Errorf("hostOf = %q, %v", h, err)
	}
	for _, bad := range []string{"", "127.0.0.1:6443/x", "://x"} {
		if h, err := hostOf(bad); err == nil {
			t.Errorf("hostOf(%q) = %q, want an error", bad, h)
		}
	}
}

func TestRequestsToHost(t *testing.T) {
	const text = `# HELP rest_client_requests_total Number of HTTP requests, partitioned by status code, method, and host.
# TYPE rest_client_requests_total counter
rest_client_requests_total{code="200",host="127.0.0.1:1111",method="GET"} 40
rest_client_requests_total{code="200",host="127.0.0.1:1111",method="PATCH"} 7
rest_client_requests_total{code="404",host="127.0.0.1:1111",method="GET"} 2
rest_client_requests_total{code="200",host="127.0.0.1:2222",method="GET"} 1000
`
	m, err := parseMetrics(strings.NewReader(text), "rest_client_requests_total")
	if err != nil {
		t.Fatal(err)
	}
	got := requestsToHost(m["rest_client_requests_total"], "127.0.0.1:1111")
	want := requestCounts{"": 49, "GET": 42, "PATCH": 7}
	if len(got) != len(want) {
		t.Fatalf("requestsToHost = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("requestsToHost[%q] = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if got := requestsToHost(m["rest_client_requests_total"], "127.0.0.1:3333"); got[""] != 0 {
		t.Errorf("requests to an unknown host: %v, want none", got)
	}
}

func TestRequestCountsAdd(t *testing.T) {
	c := requestCounts{"": 3, "GET": 3}
	c.add(requestCounts{"": 2, "GET": 1, "PUT": 1})
	if c[""] != 5 || c["GET"] != 4 || c["PUT"] != 1 {
		t.Errorf("add = %v", c)
	}
	s := controllerStats{reconciles: requestCounts{"": 1}, compare: hist{1, 2}}.add(controllerStats{reconciles: requestCounts{"": 2}, compare: hist{3, 4}})
	if s.reconciles[""] != 3 || s.compare != (hist{4, 6}) {
		t.Errorf("controllerStats.add = %+v", s)
	}
}

func TestReplicaIdentity(t *testing.T) {
	log := "time=2026-12-07T21:00:00Z level=INFO msg=\"starting\" version=dev\n" +
		"time=2026-12-07T21:00:01Z level=INFO msg=\"holding the Lease\" lease=soll/soll-controller-host-4f2a9c replicas=1\n"
	if got := replicaIdentity(log); got != "soll-controller-host-4f2a9c" {
		t.Errorf("replicaIdentity = %q", got)
	}
	if got := replicaIdentity("time=x level=INFO msg=starting\n"); got != "" {
		t.Errorf("replicaIdentity before the Lease = %q, want none", got)
	}
}

func TestComparedAgain(t *testing.T) {
	killed := time.Date(2026, 12, 7, 21, 0, 10, 600e6, time.UTC)
	at := func(d time.Duration) *metav1.Time {
		t := metav1.NewTime(killed.Truncate(time.Second).Add(d))
		return &t
	}
	app := func(refresh bool, reconciled *metav1.Time) *sollv1.Application {
		a := &sollv1.Application{}
		if refresh {
			a.Annotations = map[string]string{sollv1.RefreshAnnotation: "normal"}
		}
		a.Status.ReconciledAt = reconciled
		return a
	}
	for _, tc := range []struct {
		name string
		app  *sollv1.Application
		want bool
	}{
		{"refresh pending", app(true, at(5*time.Second)), false},
		{"compared before the kill", app(false, at(-time.Second)), false},
		{"never compared", app(false, nil), false},
		{"compared in the kill's second", app(false, at(0)), true},
		{"compared after", app(false, at(3*time.Second)), true},
	} {
		if got := comparedAgain(tc.app, killed); got != tc.want {
			t.Errorf("%s: comparedAgain = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCountOwners(t *testing.T) {
	op := func(id string) sollv1.Application {
		a := sollv1.Application{}
		if id != "" {
			a.Status.OperationState = &sollv1.OperationState{Controller: id}
		}
		return a
	}
	apps := []sollv1.Application{op("a"), op("b"), op("a"), op(""), op("z"), op("c")}
	owners, others := countOwners(apps, []string{"a", "b", "c"})
	if !slices.Equal(owners, []int{2, 1, 1}) || others != 2 {
		t.Errorf("countOwners = %v, %d others; want [2 1 1], 2", owners, others)
	}
}

// TestReportRows checks that the default run prints none of the rows of
// several clusters or replicas, and that those runs print theirs with
// what each ratio compares.
func TestReportRows(t *testing.T) {
	base := func() *report {
		return &report{
			apps: 10, objects: 40, replicas: 1, clusterApps: []int{10},
			baseApply: time.Second, baseAvailable: 2 * time.Second, baseAvailableCount: 10,
			sollDone: 3 * time.Second, sollDoneCount: 10, idleWindow: 30 * time.Second,
		}
	}
	print := func(r *report) string {
		var b bytes.Buffer
		if err := r.print(&b); err != nil {
			t.Fatal(err)
		}
		// Columns aligned by spaces: compare words.
		return strings.Join(strings.Fields(b.String()), " ")
	}
	plain := print(base())
	for _, s := range []string{"ratio soll / baseline (Available)", "1.50x"} {
		if !strings.Contains(plain, s) {
			t.Errorf("default report lacks %q:\n%s", s, plain)
		}
	}
	for _, s := range []string{"clusters", "replica", "failover"} {
		if strings.Contains(plain, s) {
			t.Errorf("default report mentions %q:\n%s", s, plain)
		}
	}

	multi := base()
	multi.clusterApps = []int{4, 3, 3}
	multi.remotes = []remoteRow{
		{name: "cluster-1", apps: 3, watchedKinds: 4, objects: 12, statusAt: time.Date(2026, 12, 7, 21, 0, 10, 0, time.UTC), syncSoll: requestCounts{"": 30, "PATCH": 30}, soll: requestCounts{}, apiServer: requestCounts{"": 20, "GET": 20}},
		{name: "cluster-2", apps: 3, watchedKinds: 4, objects: 12, soll: requestCounts{"": 1, "GET": 1}, apiServer: requestCounts{}},
	}
	out := print(multi)
	for _, s := range []string{
		"3 clusters, apps spread evenly: in-cluster 4 apps (soll's own), cluster-1 3 apps, cluster-2 3 apps",
		"ratio soll / baseline: all Synced and Healthy vs all Available (3 clusters)",
		"<= 1.5x",
		"baseline: all Deployments Available (all 3 clusters)",
		"API server requests during sync (all clients, 3 clusters)",
		"idle: cluster-1: soll's watches (Cluster status: kinds / objects) 4 kinds / 12 objects status of 21:00:10",
		"cluster-1: soll's API requests to it during sync (soll's client metrics) 30 (PATCH 30) 3 apps",
		"idle: cluster-2: soll's API requests to it (soll's client metrics)",
		"cluster-1: soll's API requests to it during sync (soll's client metrics) 30 (PATCH 30) 3 apps",
		"idle: cluster-2: soll's API requests to it (soll's client metrics) 1 (GET 1)",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("report of 3 clusters lacks %q:\n%s", s, out)
		}
	}

	rep := base()
	rep.replicas = 3
	rep.idleReplicaCPU = []time.Duration{300 * time.Millisecond, 150 * time.Millisecond, 0}
	rep.replicaPeakRSS = []int64{100 << 20, 110 << 20, 120 << 20}
	rep.sollPeakRSS = 330 << 20
	rep.failover = &failoverResult{replicas: 3, victimApps: 4, owners: []int{4, 3, 3}, all: 17 * time.Second, live: 2 * time.Second, done: 10}
	out = print(rep)
	for _, s := range []string{
		"soll runs as 3 replicas (soll controller --shard)",
		"ratio soll / baseline: all Synced and Healthy (3 replicas) vs all Available",
		"soll: peak RSS (sum of 3 replicas)",
		"330 MB (100, 110, 120)",
		"1.0%, 0.5%, 0.0%",
		"replicas: apps each synced (status.operationState.controller)",
		"failover: SIGKILL of 1 of 3 replicas until every app compared again (refresh)",
		"17.0 s",
		"the killed replica had synced 4 apps",
		"the apps synced by the live replicas compared again 2.0 s",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("report of 3 replicas lacks %q:\n%s", s, out)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := config{apps: 10, objectsPerApp: 4, controller: "process", clusters: 3, replicas: 3, heals: 20}
	if err := ok.validate(); err != nil || ok.heals != 10 {
		t.Errorf("validate = %v, heals %d; want nil and 10", err, ok.heals)
	}
	for _, tc := range []struct {
		change func(*config)
		want   string
	}{
		{func(c *config) { c.clusters = 0 }, "-clusters must be at least 1"},
		{func(c *config) { c.replicas = 0 }, "-replicas must be at least 1"},
		{func(c *config) { c.controller, c.clusters = "inprocess", 1 }, "-replicas above 1 needs -controller=process"},
		{func(c *config) { c.controller, c.replicas = "inprocess", 1 }, "-clusters above 1 needs -controller=process"},
	} {
		c := ok
		tc.change(&c)
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("validate = %v, want %q", err, tc.want)
		}
	}
}

// TestCheckRunning runs a real process that exits at once: the check
// names it, unless the benchmark killed it on purpose.
func TestCheckRunning(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &childController{cmd: cmd, logPath: "/work/soll-1.log", exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	<-c.exited
	err := checkRunning([]controllerRun{c})
	if err == nil || !strings.Contains(err.Error(), "soll process 1 of 1 exited") || !strings.Contains(err.Error(), "/work/soll-1.log") {
		t.Errorf("checkRunning = %v, want the exited process and its log", err)
	}
	c.killed = true
	if err := checkRunning([]controllerRun{c}); err != nil {
		t.Errorf("checkRunning of a killed process = %v, want nil", err)
	}
}
