package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"soll.dev/localcluster"
)

// procMem returns the resident set size and its peak (VmRSS, VmHWM) in bytes.
func procMem(pid int) (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status %s: %w", pid, k, err)
		}
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return rss, peak, nil
}

// cpuTimes is the CPU time of the control plane's processes by name.
type cpuTimes map[string]time.Duration

func (c cpuTimes) total() time.Duration {
	var t time.Duration
	for _, d := range c {
		t += d
	}
	return t
}

func (c cpuTimes) sub(before cpuTimes) cpuTimes {
	out := cpuTimes{}
	for k, d := range c {
		out[k] = d - before[k]
	}
	return out
}

// String is the total and the share of each process, largest first.
func (c cpuTimes) String() string {
	names := make([]string, 0, len(c))
	for k := range c {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(c[b], c[a]), cmp.Compare(a, b)) })
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %.0f", strings.TrimPrefix(k, "kube-"), c[k].Seconds()))
	}
	return fmt.Sprintf("%s (%s)", secs(c.total()), strings.Join(parts, ", "))
}

// controlPlaneCPU reads the CPU time of each control-plane process; gone
// ones count zero. Processes of the same name (the nodes) are summed.
func (b *bench) controlPlaneCPU() cpuTimes {
	out := cpuTimes{}
	for _, t := range b.targets {
		for _, p := range t.cluster.Processes {
			if d, err := localcluster.ProcessCPU(p.PID); err == nil {
				out[p.Name] += d
			}
		}
	}
	return out
}

// sample is one Prometheus sample: labels and value.
type sample struct {
	labels map[string]string
	value  float64
}

// parseMetrics reads the Prometheus text format, keeping the samples of
// the named metrics. It handles what client_golang and the API server
// write, which is all this program reads.
func parseMetrics(r io.Reader, names ...string) (map[string][]sample, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string][]sample{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if !want[name] {
			continue
		}
		labels := map[string]string{}
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				return nil, fmt.Errorf("metric line %q: no closing brace", line)
			}
			for _, kv := range splitLabels(rest[1:end]) {
				k, v, _ := strings.Cut(kv, "=")
				labels[k] = strings.Trim(v, `"`)
			}
			rest = rest[end+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metric line %q: %w", line, err)
		}
		out[name] = append(out[name], sample{labels: labels, value: v})
	}
	return out, sc.Err()
}

// splitLabels splits `a="x",b="y,z"` at the commas outside quotes.
func splitLabels(s string) []string {
	var parts []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		parts = append(parts, s[start:])
	}
	return parts
}

// requestCounts are API request counts by a label value (verb or method),
// with "" for the total.
type requestCounts map[string]float64

func (c requestCounts) sub(o requestCounts) requestCounts {
	out := requestCounts{}
	for k, v := range c {
		if d := v - o[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// add adds o's counts to c.
func (c requestCounts) add(o requestCounts) {
	for k, v := range o {
		c[k] += v
	}
}

func sumBy(samples []sample, label string, keep func(map[string]string) bool) requestCounts {
	out := requestCounts{}
	for _, s := range samples {
		if keep != nil && !keep(s.labels) {
			continue
		}
		out[""] += s.value
		if label != "" {
			out[s.labels[label]] += s.value
		}
	}
	return out
}

// apiServerRequests reads apiserver_request_total: requests of all clients
// by verb, and dry-run requests under the key "dry-run".
func apiServerRequests(ctx context.Context, kube kubernetes.Interface) (requestCounts, error) {
	raw, err := kube.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("read API server metrics: %w", err)
	}
	m, err := parseMetrics(strings.NewReader(string(raw)), "apiserver_request_total")
	if err != nil {
		return nil, err
	}
	c := sumBy(m["apiserver_request_total"], "verb", nil)
	c["dry-run"] = sumBy(m["apiserver_request_total"], "verb", func(l map[string]string) bool {
		return l["dry_run"] != "" && l["dry_run"] != "false"
	})[""]
	return c, nil
}

// scrape reads the named metrics from a Prometheus endpoint.
func scrape(ctx context.Context, url string, names ...string) (map[string][]sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseMetrics(resp.Body, names...)
}

// loadAvg is the first three fields of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// hist is a histogram's sum and count.
type hist struct{ sum, count float64 }

func (h hist) sub(o hist) hist { return hist{h.sum - o.sum, h.count - o.count} }

// mean formats the mean in seconds.
func (h hist) mean() string {
	if h.count == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f s", h.sum/h.count)
}

// controllerStats are the controller's own metrics that explain where
// its time goes.
type controllerStats struct {
	reconciles    requestCounts // by result
	reconcileTime hist
	queueWait     hist
	compare       hist
	syncOps       hist
}

func (s controllerStats) sub(o controllerStats) controllerStats {
	return controllerStats{
		reconciles:    s.reconciles.sub(o.reconciles),
		reconcileTime: s.reconcileTime.sub(o.reconcileTime),
		queueWait:     s.queueWait.sub(o.queueWait),
		compare:       s.compare.sub(o.compare),
		syncOps:       s.syncOps.sub(o.syncOps),
	}
}

func (h hist) add(o hist) hist { return hist{h.sum + o.sum, h.count + o.count} }

// add sums the stats of two replicas.
func (s controllerStats) add(o controllerStats) controllerStats {
	rec := requestCounts{}
	rec.add(s.reconciles)
	rec.add(o.reconciles)
	return controllerStats{
		reconciles:    rec,
		reconcileTime: s.reconcileTime.add(o.reconcileTime),
		queueWait:     s.queueWait.add(o.queueWait),
		compare:       s.compare.add(o.compare),
		syncOps:       s.syncOps.add(o.syncOps),
	}
}

// readControllerStats scrapes the Application controller's metrics.
func readControllerStats(ctx context.Context, url string) (controllerStats, error) {
	names := []string{"controller_runtime_reconcile_total"}
	hists := []string{"controller_runtime_reconcile_time_seconds", "workqueue_queue_duration_seconds",
		"soll_compare_duration_seconds", "soll_sync_operation_duration_seconds"}
	for _, h := range hists {
		names = append(names, h+"_sum", h+"_count")
	}
	m, err := scrape(ctx, url, names...)
	if err != nil {
		return controllerStats{}, fmt.Errorf("read soll metrics: %w", err)
	}
	app := func(l map[string]string) bool {
		c, ok := l["controller"]
		return !ok || c == "application"
	}
	h := func(name string) hist {
		return hist{sumBy(m[name+"_sum"], "", app)[""], sumBy(m[name+"_count"], "", app)[""]}
	}
	return controllerStats{
		reconciles:    sumBy(m["controller_runtime_reconcile_total"], "result", app),
		reconcileTime: h(hists[0]),
		queueWait:     h(hists[1]),
		compare:       h(hists[2]),
		syncOps:       h(hists[3]),
	}, nil
}
