package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"

	"soll.dev/internal/controller"
)

// controllerRun is a running soll controller.
type controllerRun interface {
	// PID is the process whose CPU and memory are measured.
	PID() int
	// Requests counts the controller's API requests so far by HTTP method,
	// "" holding the total.
	Requests(ctx context.Context) (requestCounts, error)
	// MetricsURL is the controller's Prometheus endpoint.
	MetricsURL() string
	// Stop stops the controller and waits for it.
	Stop()
}

// startControllers runs soll as configured, one process or with
// -replicas above one that many `soll controller --shard` processes, and
// waits until each one's Application controller is running.
func (b *bench) startControllers(ctx context.Context) ([]controllerRun, error) {
	if b.cfg.replicas == 1 {
		cacheDir := filepath.Join(b.work, "soll-cache")
		logPath := filepath.Join(b.work, "soll.log")
		if b.cfg.controller == "inprocess" {
			c, err := startInProcess(ctx, b.restCfg, cacheDir, logPath, b.cfg.workers, b.cfg.writes)
			if err != nil {
				return nil, err
			}
			return []controllerRun{c}, nil
		}
		c, err := startChild(ctx, b.sollBin, b.cluster.Kubeconfig, cacheDir, logPath, b.cfg.workers, b.cfg.writes)
		if err != nil {
			return nil, err
		}
		return []controllerRun{c}, nil
	}
	var ctls []controllerRun
	for i := range b.cfg.replicas {
		cacheDir := filepath.Join(b.work, fmt.Sprintf("soll-cache-%d", i))
		logPath := filepath.Join(b.work, fmt.Sprintf("soll-%d.log", i))
		// Text logs, so that the replica's Lease is found by replicaIdentity.
		c, err := startChild(ctx, b.sollBin, b.cluster.Kubeconfig, cacheDir, logPath, b.cfg.workers, b.cfg.writes, "--shard", "--log-format", "text")
		if err != nil {
			stopAll(ctls)
			return nil, fmt.Errorf("replica %d: %w", i, err)
		}
		ctls = append(ctls, c)
		err = poll(ctx, time.Minute, 100*time.Millisecond, func() (bool, error) {
			log, err := os.ReadFile(logPath)
			if err != nil {
				return false, err
			}
			c.identity = replicaIdentity(string(log))
			return c.identity != "", nil
		})
		if err != nil {
			stopAll(ctls)
			return nil, fmt.Errorf("replica %d logged no Lease (log: %s): %w", i, logPath, err)
		}
	}
	return ctls, nil
}

// stopAll stops the controllers, newest first.
func stopAll(ctls []controllerRun) {
	for i := len(ctls) - 1; i >= 0; i-- {
		ctls[i].Stop()
	}
}

// leaseLine finds a sharded replica's identity, the name of its Lease, in
// its text log: "lease=<namespace>/soll-controller-...".
var leaseLine = regexp.MustCompile(`lease=\S+/(soll-controller-[a-z0-9-]+)`)

// replicaIdentity is the identity a sharded replica logged at its start,
// as it writes it into status.operationState.controller; "" until then.
func replicaIdentity(log string) string {
	if m := leaseLine.FindStringSubmatch(log); m != nil {
		return m[1]
	}
	return ""
}

// childController is `soll controller` as a child process.
type childController struct {
	identity   string // a sharded replica's Lease; "" for a replica alone
	killed     bool   // by the benchmark, on purpose
	logPath    string
	cmd        *exec.Cmd
	log        *os.File
	metricsURL string
	exited     chan struct{}
}

func startChild(ctx context.Context, bin, kubeconfig, cacheDir, logPath string, workers, writes int, extra ...string) (*childController, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"controller", "--kubeconfig", kubeconfig, "--namespace", sollNamespace,
		"--cache-dir", cacheDir, "--workers", strconv.Itoa(workers), "--max-parallel-writes", strconv.Itoa(writes), "--metrics-addr", addr}
	cmd := exec.Command(bin, append(args, extra...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Should this program die without cleaning up, the kernel stops soll.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close() // empty: soll never started
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	c := &childController{cmd: cmd, log: logFile, logPath: logPath, metricsURL: "http://" + addr + "/metrics", exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.exited) }()

	// Ready once controller-runtime reports the Application controller's
	// workers, which it does when they start.
	err = poll(ctx, time.Minute, 100*time.Millisecond, func() (bool, error) {
		select {
		case <-c.exited:
			return false, fmt.Errorf("soll exited: %v (log: %s)", cmd.ProcessState, logPath)
		default:
		}
		m, err := scrape(ctx, c.metricsURL, "controller_runtime_max_concurrent_reconciles")
		if err != nil {
			return false, nil
		}
		for _, s := range m["controller_runtime_max_concurrent_reconciles"] {
			if s.labels["controller"] == "application" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		c.Stop()
		return nil, fmt.Errorf("soll controller not ready: %w", err)
	}
	return c, nil
}

func (c *childController) PID() int { return c.cmd.Process.Pid }

// checkRunning returns an error naming the first soll process that
// exited without being killed by the benchmark: nothing would sync its
// apps, so waiting for them is pointless.
func checkRunning(ctls []controllerRun) error {
	for i, ctl := range ctls {
		c, ok := ctl.(*childController)
		if !ok || c.killed {
			continue
		}
		select {
		case <-c.exited:
			return fmt.Errorf("soll process %d of %d exited: %v (log: %s)", i+1, len(ctls), c.cmd.ProcessState, c.logPath)
		default:
		}
	}
	return nil
}

func (c *childController) MetricsURL() string { return c.metricsURL }

func (c *childController) Requests(ctx context.Context) (requestCounts, error) {
	m, err := scrape(ctx, c.metricsURL, "rest_client_requests_total")
	if err != nil {
		return nil, fmt.Errorf("read soll metrics: %w", err)
	}
	return sumBy(m["rest_client_requests_total"], "method", nil), nil
}

func (c *childController) Stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	if err := c.log.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close soll's log:", err)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// inProcessController runs controller.NewManager in this process, with a
// transport that counts its API requests.
type inProcessController struct {
	counter    *requestCounter
	metricsURL string
	cancel     context.CancelFunc
	done       chan error
	log        io.Closer
}

func startInProcess(ctx context.Context, cfg *rest.Config, cacheDir, logPath string, workers, writes int) (*inProcessController, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	counter := &requestCounter{counts: map[string]int64{}, byPath: map[string]int64{}, latency: map[string]time.Duration{}, bytes: map[string]int64{}}
	cfg = rest.CopyConfig(cfg)
	// Like `soll controller`, which leaves the kubeconfig's rate limit
	// unset and so gets NewManager's default.
	cfg.QPS, cfg.Burst = 0, 0
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &countingTransport{next: rt, counter: counter} })
	mgr, err := controller.NewManager(cfg, controller.Options{
		Namespace:         sollNamespace,
		CacheDir:          cacheDir,
		Workers:           workers,
		MaxParallelWrites: writes,
		MetricsAddr:       addr,
		Log:               slog.New(slog.NewJSONHandler(logFile, nil)),
	})
	if err != nil {
		_ = logFile.Close() // empty: the controller never started
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &inProcessController{counter: counter, metricsURL: "http://" + addr + "/metrics", cancel: cancel, done: make(chan error, 1), log: logFile}
	go func() { c.done <- mgr.Start(runCtx) }()
	err = poll(ctx, time.Minute, 100*time.Millisecond, func() (bool, error) {
		select {
		case err := <-c.done:
			return false, fmt.Errorf("controller stopped: %v", err)
		default:
		}
		return mgr.GetCache().WaitForCacheSync(ctx), nil
	})
	if err != nil {
		cancel()
		return nil, err
	}
	return c, nil
}

func (c *inProcessController) PID() int { return os.Getpid() }

func (c *inProcessController) MetricsURL() string { return c.metricsURL }

func (c *inProcessController) Requests(context.Context) (requestCounts, error) {
	return c.counter.snapshot(), nil
}

func (c *inProcessController) Stop() {
	c.cancel()
	select {
	case err := <-c.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "controller stopped with an error:", err)
		}
	case <-time.After(15 * time.Second):
		fmt.Fprintln(os.Stderr, "controller did not stop within 15s")
	}
	if err := c.log.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close soll's log:", err)
	}
}

// requestCounter counts requests by HTTP method. Every client the
// controller builds from its rest.Config shares it, through a
// countingTransport each.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int64
	// byPath counts by method and path pattern ("PATCH
	// /apis/apps/v1/namespaces/{ns}/deployments/{name} dryRun").
	byPath map[string]int64
	// latency sums the time to response headers by the same patterns.
	latency map[string]time.Duration
	// bytes sums the request bodies by the same patterns.
	bytes map[string]int64
}

type countingTransport struct {
	next    http.RoundTripper
	counter *requestCounter
}

// WrappedRoundTripper lets client-go reach the transport underneath, to
// cancel requests.
func (t *countingTransport) WrappedRoundTripper() http.RoundTripper { return t.next }

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p := requestPattern(req)
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	took := time.Since(start)
	t.counter.mu.Lock()
	t.counter.counts[req.Method]++
	t.counter.byPath[p]++
	t.counter.latency[p] += took
	t.counter.bytes[p] += max(req.ContentLength, 0)
	t.counter.mu.Unlock()
	return resp, err
}

func (c *requestCounter) snapshot() requestCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := requestCounts{}
	for m, n := range c.counts {
		out[m] = float64(n)
		out[""] += float64(n)
	}
	return out
}

func (c *requestCounter) snapshotByPath() (count map[string]int64, latency map[string]time.Duration, bytes map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.byPath), maps.Clone(c.latency), maps.Clone(c.bytes)
}

// requestPattern is the request's method and path with namespaces and
// names replaced by placeholders, and whether it is a dry run or a watch.
func requestPattern(req *http.Request) string {
	seg := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	prefix := 2 // api/v1
	if len(seg) > 0 && seg[0] == "apis" {
		prefix = 3 // apis/GROUP/VERSION
	}
	if len(seg) > prefix {
		rest := seg[prefix:]
		if rest[0] == "namespaces" && len(rest) > 2 {
			rest[1] = "{ns}"
			rest = rest[2:]
		}
		if len(rest) > 1 {
			rest[1] = "{name}"
		}
	}
	p := req.Method + " /" + strings.Join(seg, "/")
	q := req.URL.Query()
	if q.Get("dryRun") != "" {
		p += " dryRun"
	}
	if q.Get("watch") == "true" {
		p += " watch"
	}
	return p
}
