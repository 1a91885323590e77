package controller

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	gosync "sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/kube"
	"soll.dev/internal/resource"
)

// liveWatcher watches the kinds that apps manage, filtered by the API
// server to objects carrying soll's managed label, and wakes the owning
// app on every change: drift is seen from watch events within moments,
// not by polling, and memory grows with soll's objects, not the cluster.
type liveWatcher struct {
	// namespace is soll's: only its apps are woken.
	namespace string
	kube      *kube.Client
	factory   dynamicinformer.DynamicSharedInformerFactory
	wake      *appWaker
	log       *slog.Logger

	mu      gosync.Mutex
	watched map[schema.GroupVersionResource]bool
	stop    <-chan struct{}
	// syncing are the apps that need a kind whose watch has not synced
	// yet: they are woken once it has, since a change between their
	// comparison and the watch's first list would wake nobody.
	syncing map[schema.GroupVersionResource][]types.NamespacedName

	// written holds soll's own writes the watch has not delivered yet
	// (read your writes): right after an apply or a prune the cache may
	// still hold the previous state, and reading the API server again
	// would cost a request per object.
	writtenMu gosync.Mutex
	written   map[writtenKey]writtenObj
}

// writtenKey names an object by resource, namespace and name.
//
//nolint:unused // a map key: its fields are read by the key's comparison, which unused does not count
type writtenKey struct {
	gvr             schema.GroupVersionResource
	namespace, name string
}

// writtenObj is the object the API server answered to soll's write.
type writtenObj struct {
	obj *unstructured.Unstructured
	rv  uint64
	at  time.Time
}

// Bounds of the written overlay: an entry the watch never confirms (its
// kind is not watched, or the object lost soll's label) ages out, and the
// map never grows past maxWritten entries.
const (
	writtenTTL = 2 * time.Minute
	maxWritten = 50_000
)

func newLiveWatcher(cfg *rest.Config, kc *kube.Client, wake *appWaker, log *slog.Logger) (*liveWatcher, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, metav1.NamespaceAll, func(o *metav1.ListOptions) {
		o.LabelSelector = sollv1.ManagedLabel + "=true"
	})
	return &liveWatcher{kube: kc, factory: factory, wake: wake, log: log, watched: map[schema.GroupVersionResource]bool{}, written: map[writtenKey]writtenObj{}}, nil
}

// Start runs until ctx ends (manager.Runnable).
func (w *liveWatcher) Start(ctx context.Context) error {
	w.begin(ctx)
	<-ctx.Done()
	w.factory.Shutdown()
	return nil
}

// begin lets watches start (ensure) until ctx ends; Start begins too, and
// beginning again with the same ctx changes nothing.
func (w *liveWatcher) begin(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stop = ctx.Done()
	w.factory.Start(w.stop)
}

// ensure starts watches for the kinds of c, app's comparison, not
// watched yet; app is woken once those have synced.
func (w *liveWatcher) ensure(app types.NamespacedName, c *appstate.Comparison) {
	seen := map[schema.GroupVersionResource]bool{}
	for _, o := range c.Objects {
		src := o.Desired
		if src == nil {
			src = o.Live
		}
		m, err := w.kube.Mapping(src.GroupVersionKind())
		if err != nil || seen[m.Resource] {
			continue
		}
		seen[m.Resource] = true
		w.watch(app, m.Resource)
	}
}

func (w *liveWatcher) watch(app types.NamespacedName, gvr schema.GroupVersionResource) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stop == nil {
		return
	}
	if waiting, ok := w.syncing[gvr]; ok {
		if !slices.Contains(waiting, app) {
			w.syncing[gvr] = append(waiting, app)
		}
		return
	}
	if w.watched[gvr] {
		return
	}
	w.watched[gvr] = true
	inf := w.factory.ForResource(gvr).Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { w.seen(gvr, obj, false) },
		UpdateFunc: func(oldObj, newObj any) {
			w.seen(gvr, newObj, false)
			o, ok1 := oldObj.(*unstructured.Unstructured)
			n, ok2 := newObj.(*unstructured.Unstructured)
			// Status-only churn (pods starting) does not change what
			// soll compares, except health; generation or metadata
			// changes and status transitions both matter, so every
			// real change wakes the app; the work queue collapses
			// bursts into one reconcile.
			if ok1 && ok2 && o.GetResourceVersion() == n.GetResourceVersion() {
				return
			}
			w.notify(newObj)
		},
		DeleteFunc: func(obj any) {
			w.seen(gvr, obj, true)
			w.notify(obj)
		},
	})
	if err != nil {
		// Tried again at the next comparison that needs the kind;
		// until then its changes wake no app.
		w.watched[gvr] = false
		w.log.Error("watch live objects", "resource", gvr.String(), "error", err.Error())
		droppedEvents.WithLabelValues("live").Inc()
		return
	}
	if w.syncing == nil {
		w.syncing = map[schema.GroupVersionResource][]types.NamespacedName{}
	}
	w.syncing[gvr] = []types.NamespacedName{app}
	w.factory.Start(w.stop)
	stop := w.stop
	go func() {
		synced := cache.WaitForCacheSync(stop, inf.HasSynced)
		w.mu.Lock()
		waiting := w.syncing[gvr]
		delete(w.syncing, gvr)
		w.mu.Unlock()
		if synced {
			for _, a := range waiting {
				w.wake.wake(a)
			}
		}
	}()
}

// notify wakes the app named in the object's tracking annotation.
func (w *liveWatcher) notify(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	ns, name, _, ok := resource.ParseTrackingID(u.GetAnnotations()[resource.TrackingAnnotation])
	if !ok || w.namespace != "" && ns != w.namespace {
		// Not an app of this soll (another soll's on the same cluster).
		return
	}
	w.wake.wake(types.NamespacedName{Namespace: ns, Name: name})
}

// stats counts the kinds watched and the objects in their caches.
func (w *liveWatcher) stats() (kinds, objects int) {
	w.mu.Lock()
	var gvrs []schema.GroupVersionResource
	for gvr, on := range w.watched {
		if on {
			gvrs = append(gvrs, gvr)
		}
	}
	w.mu.Unlock()
	for _, gvr := range gvrs {
		objects += len(w.factory.ForResource(gvr).Informer().GetStore().ListKeys())
	}
	return len(gvrs), objects
}

// synced returns the watch of gvk's resource when it runs and has synced.
func (w *liveWatcher) synced(gvk schema.GroupVersionKind) (schema.GroupVersionResource, cache.SharedIndexInformer, bool) {
	m, err := w.kube.Mapping(gvk)
	if err != nil {
		return schema.GroupVersionResource{}, nil, false
	}
	w.mu.Lock()
	watched := w.watched[m.Resource]
	w.mu.Unlock()
	if !watched {
		return m.Resource, nil, false
	}
	inf := w.factory.ForResource(m.Resource).Informer()
	return m.Resource, inf, inf.HasSynced()
}

// Covers reports whether the watch of gvk's resource runs and has synced:
// an object absent from it then is absent from soll's managed objects
// (soll's own recent writes included, through the written overlay).
func (w *liveWatcher) Covers(gvk schema.GroupVersionKind) bool {
	_, _, ok := w.synced(gvk)
	return ok
}

// Get returns the live object from the watch cache, or soll's own newer
// write of it. ok is false when the cache cannot answer: the kind is not
// watched or not synced yet, or the object is not in it (it may exist
// without soll's label, as an object about to be adopted does), and the
// caller must read the API server. The returned object is the caller's to
// change.
func (w *liveWatcher) Get(gvk schema.GroupVersionKind, namespace, name string) (obj *unstructured.Unstructured, ok bool) {
	cached, ok := w.lookup(gvk, namespace, name)
	if !ok {
		return nil, false
	}
	return cached.DeepCopy(), true
}

// Version returns the resourceVersion Get would return the object at,
// without copying it.
func (w *liveWatcher) Version(gvk schema.GroupVersionKind, namespace, name string) (string, bool) {
	cached, ok := w.lookup(gvk, namespace, name)
	if !ok {
		return "", false
	}
	return cached.GetResourceVersion(), true
}

// lookup is Get without the copy: the object is shared and must not be
// changed.
func (w *liveWatcher) lookup(gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, bool) {
	resource, inf, ok := w.synced(gvk)
	if !ok {
		return nil, false
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	item, _, err := inf.GetStore().GetByKey(key)
	if err != nil {
		return nil, false
	}
	cached, _ := item.(*unstructured.Unstructured)
	if newer := w.newerWrite(writtenKey{resource, namespace, name}, cached); newer != nil {
		cached = newer
	}
	if cached == nil || cached.GroupVersionKind() != gvk {
		// Not there, or another version of the kind: the API server
		// converts, the cache does not.
		return nil, false
	}
	return cached, true
}

// wrote records what the API server answered to soll's write of an
// object. Only objects carrying soll's managed label are recorded: the
// watch sees no others.
func (w *liveWatcher) wrote(written *unstructured.Unstructured) {
	if written.GetLabels()[sollv1.ManagedLabel] != "true" {
		return
	}
	rv, err := strconv.ParseUint(written.GetResourceVersion(), 10, 64)
	if err != nil {
		return
	}
	m, err := w.kube.Mapping(written.GroupVersionKind())
	if err != nil {
		return
	}
	now := time.Now()
	w.writtenMu.Lock()
	defer w.writtenMu.Unlock()
	if len(w.written) >= maxWritten {
		for k, e := range w.written {
			if now.Sub(e.at) > writtenTTL {
				delete(w.written, k)
			}
		}
		if len(w.written) >= maxWritten {
			w.written = map[writtenKey]writtenObj{}
		}
	}
	w.written[writtenKey{m.Resource, written.GetNamespace(), written.GetName()}] = writtenObj{obj: written.DeepCopy(), rv: rv, at: now}
}

// newerWrite returns soll's own write of k when the cached object (nil:
// not in the cache) is older than it, else nil. Resource versions are
// compared as the numbers the API server hands out; one that is not a
// number ends the overlay for that object.
func (w *liveWatcher) newerWrite(k writtenKey, cached *unstructured.Unstructured) *unstructured.Unstructured {
	w.writtenMu.Lock()
	defer w.writtenMu.Unlock()
	e, found := w.written[k]
	switch {
	case !found:
		return nil
	case time.Since(e.at) > writtenTTL:
		delete(w.written, k)
		return nil
	case cached == nil:
		return e.obj // created; the watch has not delivered it yet
	}
	if rv, err := strconv.ParseUint(cached.GetResourceVersion(), 10, 64); err == nil && rv < e.rv {
		return e.obj
	}
	delete(w.written, k)
	return nil
}

// seen drops the written entry the watch has now caught up with: any
// deletion, or a version at least as new as soll's write.
func (w *liveWatcher) seen(gvr schema.GroupVersionResource, obj any, deleted bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	k := writtenKey{gvr, u.GetNamespace(), u.GetName()}
	w.writtenMu.Lock()
	defer w.writtenMu.Unlock()
	if _, found := w.written[k]; !found {
		return
	}
	if deleted {
		delete(w.written, k)
		return
	}
	if rv, err := strconv.ParseUint(u.GetResourceVersion(), 10, 64); err != nil || rv >= w.written[k].rv {
		delete(w.written, k)
	}
}

var _ appstate.LiveCache = (*liveWatcher)(nil)

// liveKube is the cluster as the sync engine sees it: writes go to the API
// server and are remembered until the watch delivers them, and reads come
// from the watch cache when it can answer, so waiting for a wave to become
// healthy costs no request per object and poll.
type liveKube struct {
	*kube.Client
	live *liveWatcher
}

func (k liveKube) Apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	out, err := k.Client.Apply(ctx, obj, dryRun)
	k.wrote(out, err, dryRun)
	return out, err
}

func (k liveKube) ApplyNoForce(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	out, err := k.Client.ApplyNoForce(ctx, obj, dryRun)
	k.wrote(out, err, dryRun)
	return out, err
}

// wrote remembers the answer of a successful write until the watch
// delivers it.
func (k liveKube) wrote(out *unstructured.Unstructured, err error, dryRun bool) {
	if err == nil && !dryRun && k.live != nil {
		k.live.wrote(out)
	}
}

func (k liveKube) Create(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	out, err := k.Client.Create(ctx, obj)
	k.wrote(out, err, false)
	return out, err
}

func (k liveKube) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	if k.live != nil {
		if obj, ok := k.live.Get(gvk, namespace, name); ok {
			return obj, nil
		}
	}
	return k.Client.Get(ctx, gvk, namespace, name)
}

// appWaker puts apps whose live objects changed on the controller's work
// queue. The queue de-duplicates, so a burst of changes costs one
// reconcile per app and none is dropped, however many apps change at
// once (a bounded channel in between would have to drop when full).
type appWaker struct {
	q atomic.Pointer[workqueue.TypedRateLimitingInterface[reconcile.Request]]
}

// source is the controller's source of these wake-ups. Changes seen before
// the controller starts need no wake-up: it reconciles every app then.
func (a *appWaker) source() source.Source {
	return source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		a.q.Store(&q)
		return nil
	})
}

func (a *appWaker) wake(app types.NamespacedName) {
	if q := a.q.Load(); q != nil {
		(*q).Add(reconcile.Request{NamespacedName: app})
	}
}
