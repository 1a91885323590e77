package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// baselineWorkers is the parallelism of the plain client, as in the
// design's performance reference.
const baselineWorkers = 32

// resources maps the workload's kinds to their API resources.
var resources = map[string]schema.GroupVersionResource{
	"ConfigMap":      {Version: "v1", Resource: "configmaps"},
	"ServiceAccount": {Version: "v1", Resource: "serviceaccounts"},
	"Service":        {Version: "v1", Resource: "services"},
	"Deployment":     {Group: "apps", Version: "v1", Resource: "deployments"},
}

// baseline applies every object with a plain client, waits until every
// Deployment is Available, then deletes the namespace again. With several
// clusters, each gets its apps' objects, all clusters in parallel, with
// baselineWorkers each.
func (b *bench) baseline(ctx context.Context) error {
	r := b.report
	if len(b.targets) == 1 {
		b.step("Baseline: a plain client server-side-applies %d objects into %s (%d workers, no client-side rate limit)",
			r.objects, baselineNamespace, baselineWorkers)
	} else {
		b.step("Baseline: a plain client server-side-applies %d objects into %s of %d clusters in parallel (%d workers each, no client-side rate limit)",
			r.objects, baselineNamespace, len(b.targets), baselineWorkers)
	}
	deployments := 0
	avails := make([]*availability, len(b.targets))
	for i, t := range b.targets {
		if err := createNamespace(ctx, t.kube, baselineNamespace); err != nil {
			return err
		}
		want := 0
		if b.workload.withDeployments() {
			want = len(t.apps)
		}
		deployments += want
		avail, err := watchAvailable(ctx, t.kube, baselineNamespace, want)
		if err != nil {
			return err
		}
		defer avail.Stop()
		avails[i] = avail
	}
	apiBefore, err := b.apiServerRequestsAll(ctx)
	if err != nil {
		return err
	}
	cpBefore := b.controlPlaneCPU()

	start := time.Now()
	var retries atomic.Int64
	if err := parallel(ctx, len(b.targets), b.targets, func(ctx context.Context, t *target) error {
		return applyAll(ctx, t.dyn, baselineNamespace, t.apps, &retries)
	}); err != nil {
		return err
	}
	r.baseApply = time.Since(start)
	fmt.Printf("    applied %d objects in %s (%.0f objects/s, %d retries)\n", r.objects, r.baseApply.Round(time.Millisecond),
		float64(r.objects)/r.baseApply.Seconds(), retries.Load())

	var last time.Time
	n := 0
	for _, avail := range avails {
		at, k, err := avail.Wait(ctx, start.Add(b.cfg.timeout))
		if err != nil {
			return err
		}
		n += k
		if at.After(last) {
			last = at
		}
	}
	r.baseAvailableCount = n
	r.baseAvailable = last.Sub(start)
	if n < deployments {
		fmt.Printf("    only %d of %d Deployments Available after %s\n", n, deployments, b.cfg.timeout)
	} else {
		fmt.Printf("    all %d Deployments Available after %s\n", n, r.baseAvailable.Round(time.Millisecond))
	}
	r.baseControlPlaneCPU = b.controlPlaneCPU().sub(cpBefore)
	if apiAfter, err := b.apiServerRequestsAll(ctx); err == nil {
		r.baseAPI = apiAfter.sub(apiBefore)
	}

	b.step("Baseline: deleting namespace %s", baselineNamespace)
	start = time.Now()
	if err := parallel(ctx, len(b.targets), b.targets, func(ctx context.Context, t *target) error {
		return deleteNamespace(ctx, t.kube, baselineNamespace, b.cfg.timeout)
	}); err != nil {
		return err
	}
	r.baseDelete = time.Since(start)
	fmt.Printf("    namespace gone after %s\n", r.baseDelete.Round(time.Millisecond))
	return nil
}

// deleteNamespace deletes ns and waits until it is gone.
func deleteNamespace(ctx context.Context, kube kubernetes.Interface, ns string, timeout time.Duration) error {
	err := kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	err = poll(ctx, timeout, 250*time.Millisecond, func() (bool, error) {
		_, err := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return fmt.Errorf("namespace %s not gone: %w", ns, err)
	}
	return nil
}

// apiServerRequestsAll sums apiServerRequests over every cluster.
func (b *bench) apiServerRequestsAll(ctx context.Context) (requestCounts, error) {
	out := requestCounts{}
	for _, t := range b.targets {
		c, err := apiServerRequests(ctx, t.kube)
		if err != nil {
			return nil, err
		}
		out.add(c)
	}
	return out, nil
}

// applyAll server-side-applies the objects of apps into ns, app by app in
// file order, with baselineWorkers in parallel. Failed applies are
// retried twice.
func applyAll(ctx context.Context, dyn dynamic.Interface, ns string, apps []app, retries *atomic.Int64) error {
	var objs []*unstructured.Unstructured
	for _, a := range apps {
		for _, o := range a.objects {
			obj := o.DeepCopy()
			obj.SetNamespace(ns)
			objs = append(objs, obj)
		}
	}
	return parallel(ctx, baselineWorkers, objs, func(ctx context.Context, obj *unstructured.Unstructured) error {
		gvr := resources[obj.GetKind()]
		var err error
		for attempt := range 3 {
			if attempt > 0 {
				retries.Add(1)
				time.Sleep(100 * time.Millisecond)
			}
			_, err = dyn.Resource(gvr).Namespace(ns).Apply(ctx, obj.GetName(), obj,
				metav1.ApplyOptions{FieldManager: "bench-baseline", Force: true})
			if err == nil || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("apply %s %s/%s: %w", obj.GetKind(), ns, obj.GetName(), err)
		}
		return nil
	})
}

// parallel calls fn for every item, in order, with n workers; the first
// error cancels the rest and is returned.
func parallel[T any](ctx context.Context, n int, items []T, fn func(context.Context, T) error) error {
	work := make(chan T)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for it := range work {
				if err := fn(ctx, it); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for _, it := range items {
		select {
		case work <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return context.Cause(ctx)
}

// availability tracks, from a watch, when every Deployment of a namespace
// was Available.
type availability struct {
	want    int
	stop    chan struct{}
	mu      sync.Mutex
	ready   map[string]bool
	allAt   time.Time
	allDone chan struct{}
}

func watchAvailable(ctx context.Context, kube kubernetes.Interface, ns string, want int) (*availability, error) {
	a := &availability{want: want, stop: make(chan struct{}), ready: map[string]bool{}, allDone: make(chan struct{})}
	f := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(ns))
	inf := f.Apps().V1().Deployments().Informer()
	update := func(obj any) {
		d, ok := obj.(*appsv1.Deployment)
		if !ok {
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.ready[d.Name] = deploymentAvailable(d)
		if a.allAt.IsZero() && a.count() >= a.want {
			a.allAt = time.Now()
			close(a.allDone)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    update,
		UpdateFunc: func(_, n any) { update(n) },
	}); err != nil {
		return nil, err
	}
	f.Start(a.stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		close(a.stop)
		return nil, fmt.Errorf("watch Deployments in %s: %w", ns, ctx.Err())
	}
	return a, nil
}

func (a *availability) count() int {
	n := 0
	for _, ok := range a.ready {
		if ok {
			n++
		}
	}
	return n
}

// Wait returns when all were Available, or at the deadline with how many
// were.
func (a *availability) Wait(ctx context.Context, deadline time.Time) (time.Time, int, error) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-a.allDone:
		return a.allAt, a.want, nil
	default:
	}
	if a.want == 0 {
		return time.Now(), 0, nil // nothing to wait for
	}
	select {
	case <-a.allDone:
		return a.allAt, a.want, nil
	case <-t.C:
		a.mu.Lock()
		defer a.mu.Unlock()
		return time.Now(), a.count(), nil
	case <-ctx.Done():
		return time.Time{}, 0, ctx.Err()
	}
}

func (a *availability) Stop() { close(a.stop) }

// deploymentAvailable is kubectl rollout status's notion of done: the
// latest spec observed, every replica updated and available.
func deploymentAvailable(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas != want || d.Status.AvailableReplicas != want {
		return false
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
