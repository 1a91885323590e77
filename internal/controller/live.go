package controller

import (
	"context"
	"log/slog"
	gosync "sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/event"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/kube"
	"soll.dev/internal/resource"
)

// liveWatcher watches the kinds that apps manage, filtered by the API
// server to objects carrying soll's managed label, and wakes the owning
// app on every change: drift is seen from watch events within moments,
// not by polling, and memory grows with soll's objects, not the cluster.
type liveWatcher struct {
	kube    *kube.Client
	factory dynamicinformer.DynamicSharedInformerFactory
	out     chan<- event.GenericEvent
	log     *slog.Logger

	mu      gosync.Mutex
	watched map[schema.GroupVersionResource]bool
	stop    <-chan struct{}
}

func newLiveWatcher(cfg *rest.Config, kc *kube.Client, out chan<- event.GenericEvent, log *slog.Logger) (*liveWatcher, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, metav1.NamespaceAll, func(o *metav1.ListOptions) {
		o.LabelSelector = ManagedLabel + "=true"
	})
	return &liveWatcher{kube: kc, factory: factory, out: out, log: log, watched: map[schema.GroupVersionResource]bool{}}, nil
}

// Start runs until ctx ends (manager.Runnable).
func (w *liveWatcher) Start(ctx context.Context) error {
	w.mu.Lock()
	w.stop = ctx.Done()
	w.factory.Start(w.stop)
	w.mu.Unlock()
	<-ctx.Done()
	w.factory.Shutdown()
	return nil
}

// ensure starts watches for the kinds of c's objects not watched yet.
func (w *liveWatcher) ensure(c *comparison) {
	for _, o := range c.objects {
		src := o.Desired
		if src == nil {
			src = o.Live
		}
		m, err := w.kube.Mapping(src.GroupVersionKind())
		if err != nil {
			continue
		}
		w.watch(m.Resource)
	}
}

func (w *liveWatcher) watch(gvr schema.GroupVersionResource) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watched[gvr] || w.stop == nil {
		return
	}
	w.watched[gvr] = true
	inf := w.factory.ForResource(gvr).Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) {
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
		DeleteFunc: w.notify,
	})
	if err != nil {
		w.log.Error("watch live objects", "resource", gvr.String(), "error", err.Error())
		return
	}
	w.factory.Start(w.stop)
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
	if !ok {
		return
	}
	app := &sollv1.Application{}
	app.Namespace, app.Name = ns, name
	select {
	case w.out <- event.GenericEvent{Object: app}:
	default:
		// The queue is saturated; the periodic refresh catches up.
	}
}

// get returns the live object from the watch cache. ok is false when the
// cache cannot answer: the kind is not watched or not synced yet, or the
// object is not in it (it may exist without soll's label, as an object
// about to be adopted does), and the caller must read the API server.
// The returned object is the caller's to change.
func (w *liveWatcher) get(gvk schema.GroupVersionKind, namespace, name string) (obj *unstructured.Unstructured, ok bool) {
	m, err := w.kube.Mapping(gvk)
	if err != nil {
		return nil, false
	}
	w.mu.Lock()
	watched := w.watched[m.Resource]
	w.mu.Unlock()
	if !watched {
		return nil, false
	}
	inf := w.factory.ForResource(m.Resource).Informer()
	if !inf.HasSynced() {
		return nil, false
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	item, exists, err := inf.GetStore().GetByKey(key)
	if err != nil || !exists {
		return nil, false
	}
	u, isU := item.(*unstructured.Unstructured)
	if !isU || u.GroupVersionKind() != gvk {
		// Another version of the kind: the API server converts, the
		// cache does not.
		return nil, false
	}
	return u.DeepCopy(), true
}
