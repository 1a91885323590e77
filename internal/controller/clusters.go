package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	gosync "sync"
	"time"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/cluster"
	"soll.dev/internal/diff"
	"soll.dev/internal/kube"
	"soll.dev/internal/metrics"
)

// clusterSet holds the registered clusters Applications deploy to
// (appstate.Targets): for each Cluster, a client, a watch set of soll's
// objects shared by all its apps, its capabilities, a dry-run cache and
// what soll knows of its reachability. An entry is built from the Cluster
// and its Secret at the first comparison that needs it, and built anew
// when either changes. The cluster soll runs in is the pipeline's own.
type clusterSet struct {
	// reader reads Clusters and their Secrets (the manager's cache).
	reader client.Reader
	ns     string
	log    *slog.Logger
	// maxWrites bounds each cluster's writes in flight (see
	// kube.Client.LimitWrites).
	maxWrites int
	// wake, when set, is told the apps whose live objects changed; with
	// it, entries watch their cluster's objects once the set runs (the
	// controller), and a cluster that stopped answering is refused until
	// it answers again. Without it (the API server alone) entries only
	// read.
	wake *appWaker
	// changed, when set, is told (in a goroutine of its own) that a
	// cluster started or stopped answering.
	changed func(name string)

	mu      gosync.Mutex
	entries map[string]*remoteCluster
	// ctx is the set's run (Start); nil before: entries built then do not
	// watch, and are built again once it runs.
	ctx    context.Context
	builds singleflight.Group
}

// remoteCluster is one registered cluster as the controller uses it.
type remoteCluster struct {
	name, server string
	// version is the Cluster and Secret versions it was built from.
	version string
	target  *appstate.Target
	typed   kubernetes.Interface
	live    *liveWatcher
	conn    *connState
	// err says why the Cluster cannot be used (bad credentials, a
	// missing Secret); target is nil then.
	err    error
	cancel context.CancelFunc
}

func newClusterSet(reader client.Reader, ns string, log *slog.Logger, maxWrites int) *clusterSet {
	return &clusterSet{reader: reader, ns: ns, log: log, maxWrites: maxWrites, entries: map[string]*remoteCluster{}}
}

// Start runs until ctx ends (manager.Runnable): entries built from now on
// watch their clusters.
func (s *clusterSet) Start(ctx context.Context) error {
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, e := range s.entries {
		e.stop()
		delete(s.entries, name)
	}
	return nil
}

// Target returns the registered cluster of d (appstate.Targets).
func (s *clusterSet) Target(d sollv1.ApplicationDestination) (*appstate.Target, error) {
	e, err := s.entry(context.Background(), d)
	if err != nil {
		return nil, err
	}
	if e.err != nil {
		return nil, fmt.Errorf("spec.destination: cluster %s cannot be used: %w", e.name, e.err)
	}
	if s.wake != nil {
		if down, why := e.conn.isDown(); down {
			return nil, fmt.Errorf("spec.destination: cluster %s (%s) does not answer: %s: its apps are compared again as soon as it does; nothing is applied or pruned there until then", e.name, e.server, why)
		}
	}
	return e.target, nil
}

// Kube returns a typed client of d's cluster, for the API's reads of
// resource trees and Events.
func (s *clusterSet) Kube(d sollv1.ApplicationDestination) (kubernetes.Interface, error) {
	e, err := s.entry(context.Background(), d)
	if err != nil {
		return nil, err
	}
	if e.err != nil {
		return nil, fmt.Errorf("cluster %s cannot be used: %w", e.name, e.err)
	}
	return e.typed, nil
}

// entry returns the current entry of d's cluster, building it when the
// Cluster or its Secret changed since the last one.
func (s *clusterSet) entry(ctx context.Context, d sollv1.ApplicationDestination) (*remoteCluster, error) {
	c, err := cluster.Find(ctx, s.reader, s.ns, d)
	if err != nil {
		return nil, err
	}
	var secret *corev1.Secret
	if c.Spec.SecretName != "" {
		secret = &corev1.Secret{}
		if err := s.reader.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: c.Spec.SecretName}, secret); err != nil {
			if !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("read the credentials of cluster %s: %w", c.Name, err)
			}
			secret = nil
		}
	}
	version := clusterVersion(c, secret)
	if cur := s.current(c.Name, version); cur != nil {
		return cur, nil
	}
	v, _, _ := s.builds.Do(c.Name, func() (any, error) {
		if cur := s.current(c.Name, version); cur != nil {
			return cur, nil
		}
		e := s.build(c, secret, version)
		s.mu.Lock()
		old := s.entries[c.Name]
		s.entries[c.Name] = e
		s.mu.Unlock()
		if old != nil {
			old.stop()
			s.log.Info("cluster client rebuilt: its Cluster or credentials changed", "cluster", c.Name)
		}
		return e, nil
	})
	return v.(*remoteCluster), nil
}

// clusterVersion identifies the versions of c and its Secret.
func clusterVersion(c *sollv1.Cluster, secret *corev1.Secret) string {
	v := string(c.UID) + "/" + strconv.FormatInt(c.Generation, 10)
	if secret != nil {
		v += "/" + string(secret.UID) + "/" + secret.ResourceVersion
	}
	return v
}

// build makes the entry of c from its Secret; an entry that cannot be used
// holds the error.
func (s *clusterSet) build(c *sollv1.Cluster, secret *corev1.Secret, version string) *remoteCluster {
	e := &remoteCluster{name: c.Name, server: c.Spec.Server, version: version, conn: &connState{}, cancel: func() {}}
	if s.changed != nil {
		e.conn.onChange = func() { s.changed(c.Name) }
	}
	if c.Spec.SecretName != "" && secret == nil {
		e.err = fmt.Errorf("its Secret %s (spec.secretName) does not exist in namespace %s: create it, or register the cluster again", c.Spec.SecretName, s.ns)
		return e
	}
	cfg, err := cluster.RESTConfig(c, secret)
	if err != nil {
		e.err = err
		return e
	}
	cfg.Wrap(metrics.ClusterReachability(c.Name, e.conn.observe))
	kc, err := kube.New(cfg)
	if err != nil {
		e.err = err
		return e
	}
	kc.LimitWrites(s.maxWrites)
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		e.err = err
		return e
	}
	e.typed = typed
	e.target = &appstate.Target{
		Name: c.Name, Server: c.Spec.Server, ID: c.Name + "/" + version,
		Kube: kc, ClusterInfo: appstate.ClusterInfoCache(kc, 10*time.Minute),
		Namespaces: slices.Clone(c.Spec.Namespaces), ClusterScoped: c.Spec.AllowsClusterResources(),
	}
	s.mu.Lock()
	ctx := s.ctx
	s.mu.Unlock()
	if ctx == nil || s.wake == nil {
		return e
	}
	e.target.DryRuns = diff.NewDryRunCache(0)
	e.target.DryRuns.Manager = kube.FieldManager
	live, err := newLiveWatcher(cfg, kc, s.wake, s.log.With("cluster", c.Name))
	if err != nil {
		e.err = err
		e.target = nil
		return e
	}
	live.namespace = s.ns
	wctx, cancel := context.WithCancel(ctx)
	e.live, e.cancel = live, cancel
	e.target.Live = live
	live.begin(wctx) // now: ensure may run before Start does
	go func() { _ = live.Start(wctx) }()
	return e
}

// watcherOf returns the watch set of t, nil when it has none.
func watcherOf(t *appstate.Target) *liveWatcher {
	w, _ := t.Live.(*liveWatcher)
	return w
}

// targetKube is t's cluster as the sync engine sees it (see liveKube).
func targetKube(t *appstate.Target) liveKube {
	return liveKube{t.Kube, watcherOf(t)}
}

// kubeOf returns the client of app's destination cluster.
func (r *Reconciler) kubeOf(app *sollv1.Application) (*kube.Client, error) {
	t, err := r.Pipeline.Target(app.Spec.Destination)
	if err != nil {
		return nil, err
	}
	return t.Kube, nil
}

// clusterIndex indexes Applications by the cluster they name in
// spec.destination: "name/<name>" and "server/<server>".
const clusterIndex = "soll.destination.cluster"

func clusterKeys(obj client.Object) []string {
	app, ok := obj.(*sollv1.Application)
	if !ok {
		return nil
	}
	var keys []string
	if d := app.Spec.Destination; d.Name != "" {
		keys = append(keys, "name/"+d.Name)
	}
	if s := app.Spec.Destination.Server; s != "" {
		keys = append(keys, "server/"+cluster.NormalServer(s))
	}
	return keys
}

// clusterApps lists the apps whose destination names the cluster, by name
// or by server, from the cache.
func (r *Reconciler) clusterApps(ctx context.Context, name, server string) []types.NamespacedName {
	seen := map[types.NamespacedName]bool{}
	var out []types.NamespacedName
	for _, key := range []string{"name/" + name, "server/" + cluster.NormalServer(server)} {
		var l sollv1.ApplicationList
		if err := r.Client.List(ctx, &l, client.InNamespace(r.Namespace), client.MatchingFields{clusterIndex: key}); err != nil {
			continue
		}
		for _, app := range l.Items {
			k := client.ObjectKeyFromObject(&app)
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// stop ends the entry's watches.
func (e *remoteCluster) stop() { e.cancel() }

// forget drops the entry of a Cluster that no longer exists.
func (s *clusterSet) forget(name string) {
	s.mu.Lock()
	e := s.entries[name]
	delete(s.entries, name)
	s.mu.Unlock()
	if e != nil {
		e.stop()
	}
}

// built returns the entry of the Cluster named name, if built.
func (s *clusterSet) built(name string) *remoteCluster {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entries[name]
}

// current returns the entry of the Cluster named name if it was built
// from version and needs no rebuilding: it watches its cluster once the
// set runs with wake-ups, unless it cannot be used.
func (s *clusterSet) current(name, version string) *remoteCluster {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[name]
	if e == nil || e.version != version {
		return nil
	}
	if e.live == nil && e.err == nil && s.ctx != nil && s.wake != nil {
		return nil // built before the set ran: build it again, watching
	}
	return e
}

// forgetDryRuns empties every cluster's dry-run cache (a hard refresh).
func (s *clusterSet) forgetDryRuns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		if e.target != nil && e.target.DryRuns != nil {
			e.target.DryRuns.Forget()
		}
	}
}

// dryRunEntries counts the entries of every cluster's dry-run cache.
func (s *clusterSet) dryRunEntries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.entries {
		if e.target != nil && e.target.DryRuns != nil {
			n += e.target.DryRuns.Len()
		}
	}
	return n
}

// connState is what soll knows of a cluster's API server from the
// requests it makes anyway (watches that reconnect, reads, applies) and the
// probes of the cluster reconciler: whether its last request got an
// answer, and when one last did.
type connState struct {
	mu          gosync.Mutex
	down        bool
	why         string
	lastContact time.Time
	// onChange, when set, is called (in a goroutine of its own) when the
	// server starts or stops answering.
	onChange func()
}

// isDown reports whether the last request got no answer, and the error.
func (c *connState) isDown() (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.down, c.why
}

func (c *connState) state() (down bool, why string, last time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.down, c.why, c.lastContact
}

// answered records an answer of the API server. A server that did not
// answer is taken for back only once it says it is ready (see ready): one
// that has just started answers before it knows its RBAC (403s), and an
// operation then would fail.
func (c *connState) answered() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastContact = time.Now()
}

// ready records that the API server said it is ready.
func (c *connState) ready() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down && c.onChange != nil {
		go c.onChange()
	}
	c.down, c.why, c.lastContact = false, "", time.Now()
}

// observe records the outcome of a request (see
// metrics.ClusterReachability): nil for an answer.
func (c *connState) observe(err error) {
	if err == nil {
		c.answered()
	} else {
		c.failed(err)
	}
}

func (c *connState) failed(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.down && c.onChange != nil {
		go c.onChange()
	}
	c.down, c.why = true, err.Error()
}

// Cluster status: how often the reconciler looks at a cluster that
// answers (asking its API server's version only when nothing else talked
// to it for that long), and at one that does not.
const (
	clusterCheckInterval = time.Minute
	clusterDownInterval  = 5 * time.Second
	clusterProbeTimeout  = 10 * time.Second
)

// clusterReconciler keeps the Clusters' status current: reachability,
// server version, last contact, apps, and what soll watches there. A
// cluster that answers again after it did not, or whose client was built
// anew, has its apps compared at once. It runs on the leader only.
type clusterReconciler struct {
	client client.Client
	set    *clusterSet
	// appsOf lists the apps deploying to a cluster.
	appsOf func(ctx context.Context, name, server string) []types.NamespacedName
	wake   *appWaker
	// changes are the Clusters whose reachability changed.
	changes appWaker
	ns      string
	// owns says whether this replica keeps the status of a Cluster (its
	// key "cluster:<namespace>/<name>").
	owns func(key string) bool
}

func (r *clusterReconciler) setup(mgr ctrl.Manager) error {
	r.set.changed = func(name string) {
		r.changes.wake(types.NamespacedName{Namespace: r.ns, Name: name})
	}
	return ctrl.NewControllerManagedBy(mgr).
		WatchesRawSource(r.changes.source()).
		For(&sollv1.Cluster{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// A changed Secret of a Cluster: its client is built anew.
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.secretClusters),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Named("cluster").
		Complete(r)
}

// secretClusters maps a Secret to the Clusters that use it.
func (r *clusterReconciler) secretClusters(ctx context.Context, obj client.Object) []reconcile.Request {
	var l sollv1.ClusterList
	if err := r.client.List(ctx, &l, client.InNamespace(obj.GetNamespace())); err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, c := range l.Items {
		if c.Spec.SecretName == obj.GetName() {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&c)})
		}
	}
	return out
}

func (r *clusterReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if !r.owns("cluster:" + req.String()) {
		return ctrl.Result{}, nil
	}
	var c sollv1.Cluster
	if err := r.client.Get(ctx, req.NamespacedName, &c); err != nil {
		if apierrors.IsNotFound(err) {
			if old := r.set.built(req.Name); old != nil {
				r.set.forget(req.Name)
				r.wakeAll(ctx, req.Name, old.server)
			}
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := r.set.built(c.Name)
	e, err := r.set.entry(ctx, sollv1.ApplicationDestination{Name: c.Name})
	if err != nil {
		return ctrl.Result{}, err
	}
	rebuilt := before != nil && before != e
	var serverVersion string
	if down, _ := e.conn.isDown(); down && e.err == nil && probeReady(ctx, e.typed) {
		e.conn.ready()
	}
	if e.err == nil {
		_, _, last := e.conn.state()
		if down, _ := e.conn.isDown(); down || time.Since(last) >= clusterCheckInterval-time.Second || c.Status.ServerVersion == "" {
			serverVersion = probeVersion(ctx, e.typed)
		}
	}
	down, why, last := e.conn.state()
	if rebuilt || down != r.reportedDown(&c) {
		// Compared anew: through the new client, or now that the
		// cluster answers again (or stopped answering: Unknown).
		r.wakeAll(ctx, c.Name, c.Spec.Server)
	}
	if err := r.writeStatus(ctx, &c, e, serverVersion, down, why, last); err != nil {
		return ctrl.Result{}, err
	}
	if e.err != nil || down {
		return ctrl.Result{RequeueAfter: clusterDownInterval}, nil
	}
	return ctrl.Result{RequeueAfter: clusterCheckInterval}, nil
}

// probeReady asks the API server whether it is ready (/readyz, which
// waits for its RBAC to be known); a server that does not let soll read
// /readyz is ready when it answers /version.
func probeReady(ctx context.Context, typed kubernetes.Interface) bool {
	ctx, cancel := context.WithTimeout(ctx, clusterProbeTimeout)
	defer cancel()
	var code int
	err := typed.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&code).Error()
	switch {
	case err == nil && code == http.StatusOK:
		return true
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsNotFound(err):
		return probeVersion(ctx, typed) != ""
	}
	return false
}

// probeVersion asks the API server its version ("" when it does not
// answer: the connection state records why).
func probeVersion(ctx context.Context, typed kubernetes.Interface) string {
	ctx, cancel := context.WithTimeout(ctx, clusterProbeTimeout)
	defer cancel()
	raw, err := typed.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return ""
	}
	var info version.Info
	if json.Unmarshal(raw, &info) != nil {
		return ""
	}
	return info.GitVersion
}

// reportedDown says whether c's status reports it unreachable.
func (r *clusterReconciler) reportedDown(c *sollv1.Cluster) bool {
	cond := meta.FindStatusCondition(c.Status.Conditions, sollv1.ClusterReachable)
	return cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == sollv1.ReasonClusterUnreachable
}

// wakeAll has every app of the cluster compared now.
func (r *clusterReconciler) wakeAll(ctx context.Context, name, server string) {
	for _, app := range r.appsOf(ctx, name, server) {
		r.wake.wake(app)
	}
}

// writeStatus writes c's status when it changed.
func (r *clusterReconciler) writeStatus(ctx context.Context, c *sollv1.Cluster, e *remoteCluster, version string, down bool, why string, last time.Time) error {
	st := c.Status.DeepCopy()
	st.ObservedGeneration = c.Generation
	if version != "" {
		st.ServerVersion = version
	}
	if !last.IsZero() {
		t := metav1.NewTime(last.Truncate(time.Second))
		st.LastContact = &t
	}
	st.Applications = int32(len(r.appsOf(ctx, c.Name, c.Spec.Server)))
	st.WatchedKinds, st.WatchedObjects = 0, 0
	if e.live != nil {
		kinds, objects := e.live.stats()
		st.WatchedKinds, st.WatchedObjects = int32(kinds), int32(objects)
	}
	cond := metav1.Condition{Type: sollv1.ClusterReachable, Status: metav1.ConditionTrue, Reason: sollv1.ReasonClusterConnected, Message: "the API server answers", ObservedGeneration: c.Generation}
	switch {
	case e.err != nil:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, sollv1.ReasonClusterInvalid, e.err.Error()
	case down:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, sollv1.ReasonClusterUnreachable, why
	case last.IsZero():
		cond.Status, cond.Reason, cond.Message = metav1.ConditionUnknown, sollv1.ReasonClusterUnreachable, "not contacted yet"
	}
	meta.SetStatusCondition(&st.Conditions, cond)
	if equalClusterStatus(&c.Status, st) {
		return nil
	}
	patch := client.MergeFrom(c.DeepCopy())
	c.Status = *st
	if err := r.client.Status().Patch(ctx, c, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("write the status of Cluster %s: %w", c.Name, err)
	}
	return nil
}

// equalClusterStatus compares two statuses, ignoring the times of
// conditions that did not change.
func equalClusterStatus(a, b *sollv1.ClusterStatus) bool {
	if a.ObservedGeneration != b.ObservedGeneration || a.ServerVersion != b.ServerVersion || a.Applications != b.Applications ||
		a.WatchedKinds != b.WatchedKinds || a.WatchedObjects != b.WatchedObjects || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	if (a.LastContact == nil) != (b.LastContact == nil) || a.LastContact != nil && !a.LastContact.Equal(b.LastContact) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message || x.ObservedGeneration != y.ObservedGeneration {
			return false
		}
	}
	return true
}
