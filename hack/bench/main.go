// Command bench measures soll against a plain client on a private local
// cluster, in one run, and prints a table. `make bench` runs it.
//
// It starts a local cluster and a Git smart-HTTP server serving one
// repository with N apps (a ConfigMap, ServiceAccount, Service and
// Deployment each, all in one namespace). The baseline is a plain client
// that server-side-applies every object with 32 workers and no client-side
// rate limit; then soll, run as a child process from the same tree, syncs
// the same apps as N automated Applications. Both are timed until every
// Deployment is Available (baseline) or every Application is Synced and
// Healthy (soll). An idle window and self-heal after deleted Deployments
// follow. Everything started is stopped on exit, Ctrl-C included.
//
// With -clusters N the apps are spread over N local clusters, all but
// the first registered as Clusters; with -replicas N soll runs as N
// sharded controller processes, one of which is killed at the end to
// time the failover.
//
// With -controller=inprocess the controller runs inside this process
// instead, so that -cpuprofile and -memprofile can profile it; its CPU and
// memory figures then include the benchmark's own work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"soll.dev/internal/controller"
)

// config is what the flags set.
type config struct {
	apps           int
	renderOnly     bool
	objectsPerApp  int
	clusterDir     string
	keep           bool
	timeout        time.Duration
	workers        int
	writes         int
	controller     string // "process" or "inprocess"
	sollBin        string
	cpuProfile     string
	idleCPUProfile string
	memProfile     string
	idle           time.Duration
	heals          int
	skipBaseline   bool
	clusters       int
	replicas       int
}

func main() {
	var cfg config
	flag.IntVar(&cfg.apps, "apps", 1000, "number of apps (Applications) in the repository")
	flag.IntVar(&cfg.objectsPerApp, "objects-per-app", 4, "objects per app: ConfigMap, ServiceAccount, Service, Deployment (the first N of them below 4), then extra ConfigMaps")
	flag.StringVar(&cfg.clusterDir, "cluster-dir", "", "directory for the local cluster (default: a temporary directory); its contents are replaced")
	flag.BoolVar(&cfg.keep, "keep", false, "leave the cluster running and keep the work directory (Git repository, soll log) after the run")
	flag.DurationVar(&cfg.timeout, "timeout", 15*time.Minute, "the longest wait for one phase (all Deployments Available, all apps Synced and Healthy)")
	flag.IntVar(&cfg.workers, "workers", controller.DefaultWorkers, "soll's --workers: applications reconciled in parallel")
	flag.IntVar(&cfg.writes, "max-parallel-writes", controller.DefaultMaxParallelWrites, "soll's --max-parallel-writes: writes in flight at once over all apps (0: no limit)")
	flag.StringVar(&cfg.controller, "controller", "process", `where soll runs: "process" (the built binary, measured alone) or "inprocess" (in this process, for profiling)`)
	flag.StringVar(&cfg.sollBin, "soll-bin", "", "a prebuilt soll binary (default: build ./cmd/soll into the work directory)")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "with -controller=inprocess: write a CPU profile of the sync phase to this file")
	flag.StringVar(&cfg.idleCPUProfile, "idle-cpuprofile", "", "with -controller=inprocess: write a CPU profile of the idle window to this file")
	flag.StringVar(&cfg.memProfile, "memprofile", "", "with -controller=inprocess: write a heap profile at the end of the sync phase to this file")
	flag.DurationVar(&cfg.idle, "idle", 30*time.Second, "length of the idle window measured after all apps are synced")
	flag.IntVar(&cfg.heals, "heals", 10, "number of managed Deployments deleted, one at a time, to time self-heal")
	flag.BoolVar(&cfg.renderOnly, "render-only", false, "measure render throughput per tool only (no cluster)")
	flag.BoolVar(&cfg.skipBaseline, "skip-baseline", false, "skip the baseline (for profiling runs only: the table then has no ratio)")
	flag.IntVar(&cfg.clusters, "clusters", 1, "local clusters the apps deploy to, evenly (app i to cluster i mod N): the first as soll's own (in-cluster), the others registered as Clusters (destination by name); the baseline applies to all of them in parallel")
	flag.IntVar(&cfg.replicas, "replicas", 1, "soll controller --shard processes to run instead of one; then one replica is killed with SIGKILL and every app refreshed, timing until all are compared again")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "\nbench failed:", err)
		os.Exit(1)
	}
}

func (c *config) validate() error {
	switch {
	case c.apps < 1:
		return errors.New("-apps must be at least 1")
	case c.objectsPerApp < 1:
		return errors.New("-objects-per-app must be at least 1")
	case c.controller != "process" && c.controller != "inprocess":
		return fmt.Errorf(`-controller %q: use "process" or "inprocess"`, c.controller)
	case (c.cpuProfile != "" || c.idleCPUProfile != "" || c.memProfile != "") && c.controller != "inprocess":
		return errors.New("-cpuprofile, -idle-cpuprofile and -memprofile need -controller=inprocess")
	case c.clusters < 1:
		return errors.New("-clusters must be at least 1")
	case c.replicas < 1:
		return errors.New("-replicas must be at least 1")
	case c.replicas > 1 && c.controller != "process":
		return errors.New("-replicas above 1 needs -controller=process (each replica is a process of its own)")
	case c.clusters > 1 && c.controller != "process":
		// In this process, the benchmark's own requests to the clusters
		// would count as soll's.
		return errors.New("-clusters above 1 needs -controller=process (soll's requests to each cluster are read from its own metrics)")
	case c.heals > c.apps:
		c.heals = c.apps
	}
	return nil
}

func run(ctx context.Context, cfg config) (err error) {
	if err := cfg.validate(); err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "soll-bench-")
	if err != nil {
		return err
	}
	defer func() {
		// A failure keeps the logs for inspection; Ctrl-C does not.
		if cfg.keep || (err != nil && ctx.Err() == nil) {
			fmt.Println("work directory kept:", work)
			return
		}
		_ = os.RemoveAll(work)
	}()
	if cfg.clusterDir == "" {
		cfg.clusterDir = filepath.Join(work, "cluster")
	}
	for _, p := range []*string{&cfg.clusterDir, &cfg.cpuProfile, &cfg.idleCPUProfile, &cfg.memProfile, &cfg.sollBin} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				return err
			}
		}
	}

	b := &bench{cfg: cfg, root: root, work: work, report: &report{apps: cfg.apps, objects: cfg.apps * cfg.objectsPerApp, replicas: cfg.replicas}}
	b.report.loadBefore = loadAvg()
	fmt.Println("==> render throughput per tool (no cluster)")
	if b.report.renders, b.report.renderBase, err = measureRenders(ctx, work); err != nil {
		return fmt.Errorf("render throughput: %w", err)
	}
	if cfg.renderOnly {
		b.report.loadAfter = loadAvg()
		return b.report.printRenders(os.Stdout)
	}
	defer b.closeAll()
	if err := b.prepare(ctx); err != nil {
		return err
	}
	if !cfg.skipBaseline {
		if err := b.baseline(ctx); err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
	}
	if err := b.soll(ctx); err != nil {
		return fmt.Errorf("soll: %w", err)
	}
	b.report.loadAfter = loadAvg()
	return b.report.print(os.Stdout)
}

// repoRoot is the root of the soll module: the working directory, as with
// `go run ./hack/bench` from the Makefile.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "cmd", "soll")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("%s is not inside the soll repository: run from its root (make bench)", wd)
		}
	}
}
