package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/devenv"

	"soll.dev/localcluster"
)

// snapshot is the counters at one moment, for deltas.
type snapshot struct {
	at           time.Time
	sollCPU      time.Duration   // all replicas
	replicaCPU   []time.Duration // by replica
	sollAPI      requestCounts
	apiServer    requestCounts
	git          devenv.GitCounts
	controlPlane cpuTimes
	byPath       map[string]int64 // in-process only
	latency      map[string]time.Duration
	bytes        map[string]int64
	stats        controllerStats
}

func (b *bench) snapshot(ctx context.Context, ctls []controllerRun) (snapshot, error) {
	s := snapshot{at: time.Now(), git: b.git.Counts(), controlPlane: b.controlPlaneCPU(), sollAPI: requestCounts{}}
	var err error
	for _, ctl := range ctls {
		cpu, err := localcluster.ProcessCPU(ctl.PID())
		if err != nil {
			return s, err
		}
		s.sollCPU += cpu
		s.replicaCPU = append(s.replicaCPU, cpu)
		reqs, err := ctl.Requests(ctx)
		if err != nil {
			return s, err
		}
		s.sollAPI.add(reqs)
		stats, err := readControllerStats(ctx, ctl.MetricsURL())
		if err != nil {
			return s, err
		}
		s.stats = s.stats.add(stats)
		if ip, ok := ctl.(*inProcessController); ok {
			s.byPath, s.latency, s.bytes = ip.counter.snapshotByPath()
		}
	}
	if s.apiServer, err = b.apiServerRequestsAll(ctx); err != nil {
		return s, err
	}
	return s, nil
}

// soll runs the controller, creates the Applications and measures until
// they are all Synced and Healthy, then the idle window and self-heal.
func (b *bench) soll(ctx context.Context) error {
	r := b.report
	if b.cfg.replicas == 1 {
		b.step("soll: starting the controller (%s, --workers %d --max-parallel-writes %d), log in %s", b.cfg.controller, b.cfg.workers, b.cfg.writes, b.work+"/soll.log")
	} else {
		b.step("soll: starting %d controller replicas (soll controller --shard, --workers %d --max-parallel-writes %d each), logs in %s", b.cfg.replicas, b.cfg.workers, b.cfg.writes, b.work+"/soll-*.log")
	}
	ctls, err := b.startControllers(ctx)
	if err != nil {
		return err
	}
	b.onClose(func() {
		fmt.Println("==> stopping soll")
		stopAll(ctls)
	})
	r.inProcess = b.cfg.controller == "inprocess"

	before, err := b.snapshot(ctx, ctls)
	if err != nil {
		return err
	}
	remotesSync, err := b.snapshotRemotes(ctx, ctls)
	if err != nil {
		return err
	}
	stopProfile, err := b.startProfile(b.cfg.cpuProfile)
	if err != nil {
		return err
	}
	b.step("soll: creating %d automated Applications (prune, selfHeal) into namespace %s", len(b.workload.apps), appsNamespace)
	start := time.Now()
	if err := b.createApps(ctx); err != nil {
		stopProfile()
		return err
	}
	r.sollCreate = time.Since(start)
	fmt.Printf("    created in %s; waiting until all are Synced and Healthy\n", r.sollCreate.Round(time.Millisecond))
	err = b.waitAllSynced(ctx, start, ctls)
	stopProfile()
	if err != nil {
		return err
	}
	after, err := b.snapshot(ctx, ctls)
	if err != nil {
		return err
	}
	r.sollCPU = after.sollCPU - before.sollCPU
	r.sollAPI = after.sollAPI.sub(before.sollAPI)
	r.sollAPIServer = after.apiServer.sub(before.apiServer)
	r.sollGit = after.git.Sub(before.git)
	r.sollControlPlaneCPU = after.controlPlane.sub(before.controlPlane)
	r.sollByPath = subCounts(after.byPath, before.byPath)
	r.sollLatency = subCounts(after.latency, before.latency)
	r.sollBytes = subCounts(after.bytes, before.bytes)
	r.sollStats = after.stats.sub(before.stats)
	if err := b.writeHeapProfile(); err != nil {
		return err
	}

	remotesBefore, err := b.snapshotRemotes(ctx, ctls)
	if err != nil {
		return err
	}
	b.step("soll: idle for %s", b.cfg.idle)
	stopProfile, err = b.startProfile(b.cfg.idleCPUProfile)
	if err != nil {
		return err
	}
	select {
	case <-time.After(b.cfg.idle):
	case <-ctx.Done():
		stopProfile()
		return ctx.Err()
	}
	stopProfile()
	idle, err := b.snapshot(ctx, ctls)
	if err != nil {
		return err
	}
	remotesAfter, err := b.snapshotRemotes(ctx, ctls)
	if err != nil {
		return err
	}
	if err := b.idleRemotes(ctx, remotesSync, remotesBefore, remotesAfter, after.at); err != nil {
		return err
	}
	r.idleWindow = idle.at.Sub(after.at)
	r.idleCPU = idle.sollCPU - after.sollCPU
	for i := range idle.replicaCPU {
		r.idleReplicaCPU = append(r.idleReplicaCPU, idle.replicaCPU[i]-after.replicaCPU[i])
	}
	r.idleAPI = idle.sollAPI.sub(after.sollAPI)
	r.idleGit = idle.git.Sub(after.git)
	r.idleByPath = subCounts(idle.byPath, after.byPath)
	r.idleLatency = subCounts(idle.latency, after.latency)
	r.idleBytes = subCounts(idle.bytes, after.bytes)
	r.idleStats = idle.stats.sub(after.stats)

	if b.cfg.heals > 0 {
		if err := b.selfHeal(ctx); err != nil {
			return err
		}
	}
	for _, ctl := range ctls {
		_, peak, err := procMem(ctl.PID())
		if err != nil {
			return err
		}
		r.sollPeakRSS += peak
		r.replicaPeakRSS = append(r.replicaPeakRSS, peak)
	}
	if len(ctls) > 1 {
		return b.failover(ctx, ctls)
	}
	return nil
}

func (b *bench) createApps(ctx context.Context) error {
	return parallel(ctx, 16, b.workload.indexes(), func(ctx context.Context, i int) error {
		a := b.workload.apps[i]
		obj := &sollv1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: a.name, Namespace: sollNamespace},
			Spec: sollv1.ApplicationSpec{
				Source:      &sollv1.ApplicationSource{RepoURL: b.git.URL("bench"), TargetRevision: "main", Path: a.dir()},
				Destination: b.destination(i),
				SyncPolicy:  &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{Prune: true, SelfHeal: true}},
			},
		}
		if err := b.kc.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create application %s: %w", a.name, err)
		}
		return nil
	})
}

// appCounts are how many Applications are in each state.
type appCounts struct{ synced, healthy, both int }

// listApps lists the Applications page by page and counts them.
func (b *bench) listApps(ctx context.Context) (appCounts, map[string]bool, error) {
	var c appCounts
	apps, err := b.allApps(ctx)
	if err != nil {
		return c, nil, err
	}
	good := map[string]bool{}
	for i := range apps {
		s := apps[i].Status
		synced := s.Sync != nil && s.Sync.Status == sollv1.SyncStatusSynced
		healthy := s.Health != nil && s.Health.Status == sollv1.HealthHealthy
		if synced {
			c.synced++
		}
		if healthy {
			c.healthy++
		}
		if synced && healthy {
			c.both++
			good[apps[i].Name] = true
		}
	}
	return c, good, nil
}

// waitAllSynced polls the Applications every second until all are Synced
// and Healthy or the timeout ends, printing progress. A soll process that
// exits ends the wait with an error.
func (b *bench) waitAllSynced(ctx context.Context, start time.Time, ctls []controllerRun) error {
	r := b.report
	n := len(b.workload.apps)
	deadline := start.Add(b.cfg.timeout)
	var lastPrint time.Time
	for {
		c, _, err := b.listApps(ctx)
		now := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Printf("    list applications: %v\n", err)
		} else {
			if c.synced >= n && r.sollAllSynced == 0 {
				r.sollAllSynced = now.Sub(start)
			}
			if c.healthy >= n && r.sollAllHealthy == 0 {
				r.sollAllHealthy = now.Sub(start)
			}
			r.sollDoneCount = c.both
			if c.both >= n {
				r.sollDone = now.Sub(start)
				fmt.Printf("    %6s  all %d Synced and Healthy\n", r.sollDone.Round(time.Second), n)
				return nil
			}
			if now.Sub(lastPrint) >= 5*time.Second {
				fmt.Printf("    %6s  Synced %d, Healthy %d, both %d of %d\n", now.Sub(start).Round(time.Second), c.synced, c.healthy, c.both, n)
				lastPrint = now
			}
		}
		if err := checkRunning(ctls); err != nil {
			return err
		}
		if now.After(deadline) {
			r.sollDone = now.Sub(start)
			fmt.Printf("    only %d of %d Synced and Healthy after %s\n", r.sollDoneCount, n, b.cfg.timeout)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// selfHeal deletes managed objects one at a time (each app's Deployment,
// or its first object when it has none) and times how long soll takes to
// recreate each.
func (b *bench) selfHeal(ctx context.Context) error {
	r := b.report
	n := len(b.workload.apps)
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	r.healKind = "ConfigMap"
	if b.workload.withDeployments() {
		gvr = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
		r.healKind = "Deployment"
	}
	b.step("soll: deleting %d managed %ss one at a time (self-heal)", b.cfg.heals, r.healKind)
	for i := range b.cfg.heals {
		idx := i * n / b.cfg.heals
		a := b.workload.apps[idx]
		objs := b.targets[b.assign[idx]].dyn.Resource(gvr).Namespace(appsNamespace)
		var name string
		for _, o := range a.objects {
			if o.GetKind() == r.healKind {
				name = o.GetName()
				break
			}
		}
		old, err := objs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get %s %s: %w", r.healKind, name, err)
		}
		uid := old.GetUID()
		start := time.Now()
		if err := objs.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil {
			return fmt.Errorf("delete %s %s: %w", r.healKind, name, err)
		}
		var took time.Duration
		err = poll(ctx, time.Minute, 20*time.Millisecond, func() (bool, error) {
			o, err := objs.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			if o.GetUID() == uid || o.GetDeletionTimestamp() != nil {
				return false, nil
			}
			took = time.Since(start)
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("%s %s not recreated: %w", r.healKind, name, err)
		}
		r.heals = append(r.heals, took)
		fmt.Printf("    %s recreated after %s\n", name, took.Round(time.Millisecond))
		// One at a time: let the app settle before the next deletion.
		_ = poll(ctx, time.Minute, 200*time.Millisecond, func() (bool, error) {
			var app sollv1.Application
			if err := b.kc.Get(ctx, types.NamespacedName{Namespace: sollNamespace, Name: a.name}, &app); err != nil {
				return false, err
			}
			s := app.Status
			return s.Sync != nil && s.Sync.Status == sollv1.SyncStatusSynced && s.Health != nil && s.Health.Status == sollv1.HealthHealthy, nil
		})
	}
	slices.Sort(r.heals)
	return nil
}

// startProfile starts a CPU profile into file, if one is asked for.
func (b *bench) startProfile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close() // empty: the profile never started
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "write the CPU profile:", err)
			return
		}
		fmt.Println("    CPU profile written to", file)
	}, nil
}

func (b *bench) writeHeapProfile() error {
	if b.cfg.memProfile == "" {
		return nil
	}
	f, err := os.Create(b.cfg.memProfile)
	if err != nil {
		return err
	}
	runtime.GC()
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the heap profile: %w", err)
	}
	fmt.Println("    heap profile written to", b.cfg.memProfile)
	return nil
}

func subCounts[V int64 | time.Duration](a, b map[string]V) map[string]V {
	if a == nil {
		return nil
	}
	out := map[string]V{}
	for k, v := range a {
		if d := v - b[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}
