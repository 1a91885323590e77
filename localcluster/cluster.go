package localcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options configure a cluster.
type Options struct {
	// Dir holds all of the cluster's state. Required.
	Dir string
	// Nodes is the number of simulated nodes; 0 means 2.
	Nodes int
	// BinDir holds prebuilt binaries; empty means Build with BuildOptions.
	BinDir string
	// Build configures the build when BinDir is empty.
	Build BuildOptions
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// StartTimeout bounds the start from the first process to Ready
	// nodes; 0 means 2 minutes.
	StartTimeout time.Duration
}

// Step is one timed step of Up.
type Step struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration"`
}

// Cluster is a running local cluster. Its state is persisted in
// DIR/cluster.json so that Status and Down work from another process.
type Cluster struct {
	Dir        string     `json:"dir"`
	Server     string     `json:"server"`
	Kubeconfig string     `json:"kubeconfig"`
	Nodes      int        `json:"nodes"`
	BinDir     string     `json:"binDir"`
	Ports      Ports      `json:"ports"`
	Processes  []*process `json:"processes"`
	Steps      []Step     `json:"steps"`
	StartedAt  time.Time  `json:"startedAt"`
}

// Ports are the loopback ports a cluster listens on.
type Ports struct {
	EtcdClient int `json:"etcdClient"`
	EtcdPeer   int `json:"etcdPeer"`
	APIServer  int `json:"apiServer"`
}

const stateFile = "cluster.json"

// Up builds the binaries if needed, starts a cluster in opts.Dir and waits
// until the API server is ready and all nodes are Ready. On failure it prints
// the tail of the failing component's log, stops what it started and keeps
// the logs in Dir for inspection.
func Up(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("cluster directory is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if opts.Nodes == 0 {
		opts.Nodes = 2
	}
	if opts.Nodes < 0 || opts.Nodes > 100 {
		return nil, fmt.Errorf("nodes = %d: choose between 1 and 100", opts.Nodes)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	if c, err := Load(dir); err == nil && c.running() {
		return nil, fmt.Errorf("a cluster is already running in %s: run down first", dir)
	}

	c := &Cluster{Dir: dir, Nodes: opts.Nodes, BinDir: opts.BinDir, StartedAt: time.Now()}
	step := func(name string, start time.Time) {
		d := time.Since(start)
		c.Steps = append(c.Steps, Step{Name: name, Duration: d})
		logf(log, "%-28s %8s\n", name, d.Round(time.Millisecond))
	}

	if c.BinDir == "" {
		start := time.Now()
		b := opts.Build
		if b.Log == nil {
			b.Log = log
		}
		c.BinDir, err = Build(ctx, b)
		if err != nil {
			return nil, err
		}
		step("binaries ready", start)
	}

	// Old state (a previous crashed run) is removed; logs start fresh.
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	for _, d := range []string{"logs", "etcd"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}

	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	c.Ports = Ports{EtcdClient: ports[0], EtcdPeer: ports[1], APIServer: ports[2]}
	c.Server = fmt.Sprintf("https://127.0.0.1:%d", c.Ports.APIServer)
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")

	start := time.Now()
	if err := writePKI(dir, c.Server); err != nil {
		return nil, fmt.Errorf("write certificates: %w", err)
	}
	step("certificates", start)

	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	if err := c.start(ctx, step); err != nil {
		_ = c.stopAll()
		_ = c.save()
		return nil, err
	}
	total := time.Since(c.StartedAt)
	logf(log, "%-28s %8s\n", "total", total.Round(time.Millisecond))
	logf(log, "kubeconfig: %s\n", c.Kubeconfig)
	return c, c.save()
}

// start launches the components in dependency order, waiting for each
// stage before the next.
func (c *Cluster) start(ctx context.Context, step func(string, time.Time)) error {
	bin := func(name string) string { return filepath.Join(c.BinDir, name) }

	start := time.Now()
	etcd, err := c.launch("etcd", bin(binEtcd), c.etcdArgs())
	if err != nil {
		return err
	}
	etcdHealth := fmt.Sprintf("http://127.0.0.1:%d/health", c.Ports.EtcdClient)
	if err := c.waitFor(ctx, etcd, "etcd healthy", func(ctx context.Context) error {
		return httpOK(ctx, etcdHealth)
	}); err != nil {
		return err
	}
	step("etcd healthy", start)

	start = time.Now()
	apiserver, err := c.launch("kube-apiserver", bin(binAPIServer), c.apiserverArgs())
	if err != nil {
		return err
	}
	api, err := newAPIClient(c.Kubeconfig)
	if err != nil {
		return err
	}
	if err := c.waitFor(ctx, apiserver, "kube-apiserver /readyz", api.readyz); err != nil {
		return err
	}
	step("kube-apiserver ready", start)

	start = time.Now()
	pki := filepath.Join(c.Dir, "pki")
	others := []struct {
		name, bin string
		args      []string
	}{
		{"kube-controller-manager", bin(binControllerManager), []string{
			"--kubeconfig=" + filepath.Join(c.Dir, "controller-manager.kubeconfig"),
			"--authentication-kubeconfig=" + filepath.Join(c.Dir, "controller-manager.kubeconfig"),
			"--authorization-kubeconfig=" + filepath.Join(c.Dir, "controller-manager.kubeconfig"),
			"--bind-address=127.0.0.1",
			"--secure-port=0",
			"--leader-elect=false",
			"--controllers=*",
			"--use-service-account-credentials=true",
			"--service-account-private-key-file=" + filepath.Join(pki, fileSAKey),
			"--root-ca-file=" + filepath.Join(pki, fileCACert),
			"--cluster-signing-cert-file=" + filepath.Join(pki, fileCACert),
			"--cluster-signing-key-file=" + filepath.Join(pki, fileCAKey),
			"--service-cluster-ip-range=" + serviceClusterIPs,
			// Simulated kubelets never stop; react quickly to real changes.
			"--node-monitor-period=2s",
			"--kube-api-qps=200",
			"--kube-api-burst=400",
			"--concurrent-deployment-syncs=20",
			"--concurrent-replicaset-syncs=20",
			"--concurrent-gc-syncs=40",
			"--concurrent-namespace-syncs=20",
		}},
		{"kube-scheduler", bin(binScheduler), []string{
			"--kubeconfig=" + filepath.Join(c.Dir, "scheduler.kubeconfig"),
			"--authentication-kubeconfig=" + filepath.Join(c.Dir, "scheduler.kubeconfig"),
			"--authorization-kubeconfig=" + filepath.Join(c.Dir, "scheduler.kubeconfig"),
			"--bind-address=127.0.0.1",
			"--secure-port=0",
			"--leader-elect=false",
		}},
		{"kwok", bin(binKwok), []string{
			"--kubeconfig=" + filepath.Join(c.Dir, "kwok.kubeconfig"),
			"--config=" + bin(kwokStagesFile),
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=fake",
			"--node-lease-duration-seconds=40",
			"--cidr=" + podCIDR,
			"--node-ip=127.0.0.1",
		}},
	}
	var started []*process
	for _, o := range others {
		p, err := c.launch(o.name, o.bin, o.args)
		if err != nil {
			return err
		}
		started = append(started, p)
	}
	for i := 0; i < c.Nodes; i++ {
		if err := api.createNode(ctx, nodeName(i)); err != nil {
			return fmt.Errorf("register node %s: %w", nodeName(i), err)
		}
	}
	if err := c.waitFor(ctx, nil, fmt.Sprintf("%d nodes Ready", c.Nodes), func(ctx context.Context) error {
		for _, p := range started {
			if err := p.exitedEarly(); err != nil {
				return &fatalError{err: err, proc: p}
			}
		}
		ready, total, err := api.readyNodes(ctx)
		if err != nil {
			return err
		}
		if ready < c.Nodes {
			return fmt.Errorf("%d of %d nodes Ready", ready, total)
		}
		ok, err := api.serviceAccountExists(ctx, "default")
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("no default service account yet")
		}
		return nil
	}); err != nil {
		return err
	}
	step("nodes ready", start)
	return nil
}

func (c *Cluster) etcdArgs() []string {
	client := fmt.Sprintf("http://127.0.0.1:%d", c.Ports.EtcdClient)
	peer := fmt.Sprintf("http://127.0.0.1:%d", c.Ports.EtcdPeer)
	return []string{
		"--name=local",
		"--data-dir=" + filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=local=" + peer,
		"--listen-metrics-urls=",
		// The cluster is disposable: durability is not worth the fsyncs.
		"--unsafe-no-fsync=true",
		"--quota-backend-bytes=8589934592",
		"--log-level=warn",
	}
}

func (c *Cluster) apiserverArgs() []string {
	pki := filepath.Join(c.Dir, "pki")
	return []string{
		"--etcd-servers=" + fmt.Sprintf("http://127.0.0.1:%d", c.Ports.EtcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.Ports.APIServer),
		// On loopback the default reconciler would fight over the
		// kubernetes Service endpoints of every cluster on the machine.
		"--endpoint-reconciler-type=none",
		"--tls-cert-file=" + filepath.Join(pki, fileServingCert),
		"--tls-private-key-file=" + filepath.Join(pki, fileServingKey),
		"--client-ca-file=" + filepath.Join(pki, fileCACert),
		"--service-account-key-file=" + filepath.Join(pki, fileSAPub),
		"--service-account-signing-key-file=" + filepath.Join(pki, fileSAKey),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=" + serviceClusterIPs,
		"--authorization-mode=Node,RBAC",
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
		"--max-requests-inflight=1000",
		"--max-mutating-requests-inflight=500",
		"--profiling=false",
		"--v=1",
	}
}

// launch starts a component and records it.
func (c *Cluster) launch(name, bin string, args []string) (*process, error) {
	p, err := startProcess(c.Dir, name, bin, args)
	if err != nil {
		return nil, err
	}
	c.Processes = append(c.Processes, p)
	if err := c.save(); err != nil {
		return nil, err
	}
	return p, nil
}

// fatalError stops waiting at once: a component has died.
type fatalError struct {
	err  error
	proc *process
}

func (e *fatalError) Error() string { return e.err.Error() }

// waitFor polls check until it succeeds, ctx ends, or proc exits. On
// failure the error carries the tail of the relevant log.
func (c *Cluster) waitFor(ctx context.Context, proc *process, what string, check func(context.Context) error) error {
	var last error
	for {
		if proc != nil {
			if err := proc.exitedEarly(); err != nil {
				return fmt.Errorf("waiting for %s: %w\n--- last lines of %s ---\n%s", what, err, proc.Log, proc.logTail(40))
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		var fe *fatalError
		if errors.As(last, &fe) {
			return fmt.Errorf("waiting for %s: %w\n--- last lines of %s ---\n%s", what, fe.err, fe.proc.Log, fe.proc.logTail(40))
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("timed out waiting for %s: %v", what, last)
			for _, p := range c.Processes {
				if proc == nil || p == proc {
					msg += fmt.Sprintf("\n--- last lines of %s ---\n%s", p.Log, p.logTail(15))
				}
			}
			return errors.New(msg)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}

// freePorts reserves n distinct loopback ports. The listeners stay open
// until all n are chosen so the kernel cannot hand out the same port twice.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func (c *Cluster) save() error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.Dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(c.Dir, stateFile))
}

// Load reads the state of the cluster in dir.
func Load(dir string) (*Cluster, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var c Cluster
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &c, nil
}

func (c *Cluster) running() bool {
	for _, p := range c.Processes {
		if p.alive() {
			return true
		}
	}
	return false
}

// stopAll stops the components in reverse start order.
func (c *Cluster) stopAll() error {
	var errs []error
	for i := len(c.Processes) - 1; i >= 0; i-- {
		if err := c.Processes[i].stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stop stops the cluster's processes and removes its directory.
func (c *Cluster) Stop() error {
	if err := c.stopAll(); err != nil {
		return err
	}
	return os.RemoveAll(c.Dir)
}

// Down stops the cluster recorded in dir and removes dir. A directory
// without cluster state is left alone.
func Down(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	c, err := Load(dir)
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(dir); errors.Is(serr, os.ErrNotExist) {
			return nil // nothing to do
		}
		return fmt.Errorf("%s holds no local cluster (no %s): not removing it", dir, stateFile)
	}
	if err != nil {
		return err
	}
	return c.Stop()
}

// ComponentStatus is one line of Status.
type ComponentStatus struct {
	Name    string `json:"name"`
	PID     int    `json:"pid"`
	Running bool   `json:"running"`
}

// Status describes a cluster as seen now.
type Status struct {
	Dir        string            `json:"dir"`
	Server     string            `json:"server"`
	Kubeconfig string            `json:"kubeconfig"`
	Components []ComponentStatus `json:"components"`
	Ready      bool              `json:"ready"`
	ReadyNodes int               `json:"readyNodes"`
	Nodes      int               `json:"nodes"`
	Problem    string            `json:"problem,omitempty"`
}

// GetStatus reports on the cluster in dir: which processes run, whether
// the API server is ready and how many nodes are Ready.
func GetStatus(ctx context.Context, dir string) (*Status, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c, err := Load(dir)
	if err != nil {
		return nil, fmt.Errorf("no local cluster in %s: %w", dir, err)
	}
	s := &Status{Dir: c.Dir, Server: c.Server, Kubeconfig: c.Kubeconfig, Nodes: c.Nodes}
	var down []string
	for _, p := range c.Processes {
		r := p.alive()
		s.Components = append(s.Components, ComponentStatus{Name: p.Name, PID: p.PID, Running: r})
		if !r {
			down = append(down, p.Name)
		}
	}
	if len(down) > 0 {
		s.Problem = "not running: " + strings.Join(down, ", ")
		return s, nil
	}
	api, err := newAPIClient(c.Kubeconfig)
	if err != nil {
		return nil, err
	}
	if err := api.readyz(ctx); err != nil {
		s.Problem = "kube-apiserver not ready: " + err.Error()
		return s, nil
	}
	s.ReadyNodes, _, err = api.readyNodes(ctx)
	if err != nil {
		s.Problem = "list nodes: " + err.Error()
		return s, nil
	}
	s.Ready = s.ReadyNodes >= c.Nodes
	if !s.Ready {
		s.Problem = fmt.Sprintf("%d of %d nodes Ready", s.ReadyNodes, c.Nodes)
	}
	return s, nil
}
