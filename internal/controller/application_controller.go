package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/health"
	"soll.dev/internal/kube"
	"soll.dev/internal/project"
	"soll.dev/internal/tracing"
)

// defaultRefreshCoalesce is the default least time between two ref
// listings that refresh requests of apps of one repository cause.
const defaultRefreshCoalesce = 2 * time.Second

// Reconciler reconciles Applications: it compares Git with the cluster
// (through its Pipeline), runs sync operations, and reports status.
type Reconciler struct {
	Client client.Client
	// APIReader reads an Application from the API server when the cache
	// is known to be behind soll's own last write of it; nil: never.
	APIReader client.Reader
	// Pipeline renders and compares the apps; the reconciler sets its
	// Live cache and OnRemoteBases.
	Pipeline *appstate.Pipeline
	Recorder events.EventRecorder
	Log      *slog.Logger
	// RefreshInterval is the default time between comparisons; jitter of
	// up to 10% spreads apps out. Zero means 3 minutes.
	RefreshInterval time.Duration
	// SelfHealBackoff is the least time between two self-heal syncs of
	// one app. Zero means 2 seconds.
	SelfHealBackoff time.Duration
	// Workers is the number of apps reconciled in parallel; zero means
	// DefaultWorkers.
	Workers int
	// ErrorRetryInterval is the time before a failed comparison is
	// retried; zero means 30 seconds.
	ErrorRetryInterval time.Duration
	// QuietOperation is how long a new automated sync runs before its
	// state is written while it runs; zero means 15 seconds. Most are
	// one step that ends sooner, and are then written once, at their
	// end, together with the comparison that follows: at thousands of
	// apps every status write counts. Syncs that wait (waves, hooks)
	// are written when they start waiting, and requested ones at once.
	QuietOperation time.Duration
	// RefreshCoalesce is the least time between two ref listings of one
	// repository that refresh requests cause; requests within it wait for
	// its end, none is dropped. Zero means 2 seconds.
	RefreshCoalesce time.Duration
	// StatusWriteTimeout bounds each write of an Application (status
	// patches, taking an operation, refresh annotations, finalizers);
	// zero means defaultStatusWriteTimeout.
	StatusWriteTimeout time.Duration
	// DeletionTimeout bounds the wait for a deleted Application's objects
	// to go, and for its sources to render when it has no known deletion
	// hooks; zero means DefaultDeletionTimeout.
	DeletionTimeout time.Duration
	// Namespace is soll's namespace, where the Clusters apps deploy to
	// are registered.
	Namespace string
	// MaxParallelWrites bounds the writes in flight to each registered
	// cluster (see kube.Client.LimitWrites); zero means no limit.
	MaxParallelWrites int

	// live watches the objects of the cluster soll runs in; clusters
	// are the registered ones, each with its own watches.
	live     *liveWatcher
	clusters *clusterSet
	// shards, when set, says which apps are this replica's to run.
	shards *shardRing
	// clusterChanges wakes the Cluster reconciler.
	clusterChanges *appWaker
	refreshes      *refreshCoalescer
	// apps are the per-app records, removed when the app is gone.
	apps appRecords
	wake appWaker
}

// defaultStatusWriteTimeout is the default bound of one write of an
// Application: a write that hangs (an API server that accepted the
// connection and went away) must not hold the app's worker forever.
const defaultStatusWriteTimeout = 30 * time.Second

// SetupWithManager registers the reconciler and its live-state watches.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.RefreshInterval == 0 {
		r.RefreshInterval = 3 * time.Minute
	}
	if r.SelfHealBackoff == 0 {
		r.SelfHealBackoff = 2 * time.Second
	}
	if r.Workers == 0 {
		r.Workers = DefaultWorkers
	}
	if r.ErrorRetryInterval == 0 {
		r.ErrorRetryInterval = 30 * time.Second
	}
	if r.QuietOperation <= 0 {
		r.QuietOperation = 15 * time.Second
	}
	if r.RefreshCoalesce <= 0 {
		r.RefreshCoalesce = defaultRefreshCoalesce
	}
	if r.StatusWriteTimeout <= 0 {
		r.StatusWriteTimeout = defaultStatusWriteTimeout
	}
	if r.DeletionTimeout <= 0 {
		r.DeletionTimeout = DefaultDeletionTimeout
	}
	r.refreshes = newRefreshCoalescer(r.RefreshCoalesce)
	if r.Log == nil {
		r.Log = slog.Default()
	}
	var err error
	r.live, err = newLiveWatcher(mgr.GetConfig(), r.Pipeline.Kube, &r.wake, r.Log)
	if err != nil {
		return err
	}
	r.live.namespace = r.Namespace
	r.Pipeline.Live = r.live
	r.Pipeline.OnRemoteBases = r.rememberRemoteBases
	if err := mgr.Add(r.live); err != nil {
		return err
	}
	r.clusters = newClusterSet(mgr.GetClient(), r.Namespace, r.Log, r.MaxParallelWrites)
	r.clusters.wake = &r.wake
	r.Pipeline.Targets = r.clusters
	if err := mgr.Add(r.clusters); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &sollv1.Application{}, clusterIndex, clusterKeys); err != nil {
		return fmt.Errorf("index applications by destination cluster: %w", err)
	}
	cr := &clusterReconciler{client: mgr.GetClient(), set: r.clusters, appsOf: r.clusterApps, wake: &r.wake, ns: r.Namespace, owns: r.owns}
	if err := cr.setup(mgr); err != nil {
		return err
	}
	r.clusterChanges = &cr.changes
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &sollv1.Application{}, dependsOnIndex, dependsOnKeys); err != nil {
		return fmt.Errorf("index applications by dependsOn: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		// Status writes (our own) must not wake the app again: only
		// spec, operation (both bump the generation), deletion and
		// annotation changes (refresh requests) do.
		For(&sollv1.Application{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WatchesRawSource(r.wake.source()).
		// A changed Project (rules, sync windows) is checked again by
		// its apps now, not at their next refresh.
		Watches(&sollv1.Project{}, handler.EnqueueRequestsFromMapFunc(r.projectApps),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// An app that waits for its dependencies syncs as soon as they
		// are ready; a deletion that waits for its dependants goes on
		// as soon as they are gone.
		Watches(&sollv1.Application{}, handler.EnqueueRequestsFromMapFunc(r.dependantApps),
			builder.WithPredicates(readinessChanged())).
		// A changed settings ConfigMap, known hosts, repository Secret
		// or Secret of SOPS keys is read by the apps it concerns now
		// (see configMapApps and secretApps). The cache watches soll's
		// namespace only; the comparisons read these through it.
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.configMapApps),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.secretApps),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Workers}).
		Named("application").
		Complete(r)
}

// projectApps lists the Applications of a Project, from the cache.
func (r *Reconciler) projectApps(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.appsWhere(ctx, obj, "project", func(app *sollv1.Application) bool {
		return cmp.Or(app.Spec.Project, project.DefaultName) == obj.GetName()
	})
}

// Reconcile is one pass over one Application.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, err error) {
	ctx, span := tracing.Tracer().Start(ctx, "soll.reconcile", trace.WithAttributes(attribute.String("soll.app", req.String())))
	defer func() { tracing.End(span, err) }()
	ctx = withReconcileLog(ctx, r.Log, req.String())
	if !r.owns(req.String()) {
		// Another replica's app (sharding): it runs it.
		return ctrl.Result{}, nil
	}
	var app sollv1.Application
	if err := r.getApp(ctx, req.NamespacedName, &app); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// The app exists: what its comparisons learn is kept until it is
	// gone (getApp forgets it then).
	r.apps.ensure(req.NamespacedName)
	if !app.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &app)
	}
	if app.Spec.Suspend {
		return ctrl.Result{}, r.patchStatus(ctx, &app, func(s *sollv1.ApplicationStatus) {
			setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, sollv1.ReasonReconciliationSuspended, "reconciliation is suspended (spec.suspend)")
		})
	}
	mode, refreshed := app.Annotations[sollv1.RefreshAnnotation]
	if refreshed {
		wait, err := r.handleRefresh(ctx, &app, mode)
		if err != nil {
			return ctrl.Result{}, err
		}
		if wait > 0 {
			// Compared when the repository's listing that covers the
			// request is due: comparing now would only repeat the last one.
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}

	started := time.Now()
	if !refreshed && r.isUnchanged(ctx, &app) {
		observeUnchanged(started)
		r.appLog(ctx, &app).Debug("comparison unchanged")
		return ctrl.Result{RequeueAfter: r.refreshInterval(&app)}, nil
	}
	c, err := r.compare(ctx, &app)
	observeCompare(err, started)
	if err != nil {
		return r.comparisonFailed(ctx, &app, err, nil)
	}
	var finish statusChange
	op, automated, held := r.nextOperation(&app, c, r.dependencies(ctx, &app))
	if op != nil {
		octx, ospan := tracing.Tracer().Start(ctx, "soll.sync", trace.WithAttributes(attribute.Bool("soll.automated", automated)))
		finish, err = r.runOperation(octx, &app, op, automated, c, held.deps)
		tracing.End(ospan, err)
		if errors.Is(err, errClaimLost) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		if err != nil {
			return ctrl.Result{}, err
		}
		if st := app.Status.OperationState; finish == nil && st != nil && st.Phase == sollv1.OperationRunning {
			// A retry is scheduled.
			return ctrl.Result{RequeueAfter: retryDelay(&app, st)}, nil
		}
		// Report the state after the operation, written with its
		// outcome.
		if c, err = r.compare(ctx, &app); err != nil {
			return r.comparisonFailed(ctx, &app, err, finish)
		}
	}
	if w := watcherOf(c.Target); w != nil {
		w.ensure(req.NamespacedName, c)
	}
	if err := r.writeComparison(ctx, &app, c, held, finish, refreshed); err != nil {
		r.apps.update(req.NamespacedName, func(rec *appRecord) { rec.unchanged = nil })
		return ctrl.Result{}, err
	}
	r.remember(&app, c, started)
	if _, ok := app.Annotations[sollv1.RestorePrunePendingAnnotation]; ok {
		if err := r.restorePrune(ctx, &app); err != nil {
			return ctrl.Result{}, err
		}
	}
	after := r.refreshInterval(&app)
	if held.window != nil && held.window.NextChange != nil {
		// Look again when the window opens.
		after = min(after, max(time.Until(*held.window.NextChange), time.Second))
	}
	if held.healAfter > 0 {
		after = min(after, held.healAfter)
	}
	return ctrl.Result{RequeueAfter: after}, nil
}

// getApp reads an Application from the cache, or from the API server when
// the cache has not seen soll's last write of it yet: a reconcile that
// follows right on a sync must not take the operation for still running
// and run it again.
func (r *Reconciler) getApp(ctx context.Context, key client.ObjectKey, app *sollv1.Application) error {
	if err := r.Client.Get(ctx, key, app); err != nil {
		if apierrors.IsNotFound(err) {
			r.apps.forget(key) // the app is gone: so is its record
		}
		return err
	}
	last := r.apps.get(key).lastWrite
	if last == 0 {
		return nil
	}
	if rv, err := strconv.ParseUint(app.ResourceVersion, 10, 64); err == nil && rv >= last {
		r.apps.update(key, func(rec *appRecord) {
			if rec.lastWrite == last {
				rec.lastWrite = 0
			}
		})
		return nil
	}
	if r.APIReader == nil {
		return nil
	}
	return r.APIReader.Get(ctx, key, app)
}

// wrote notes soll's write of app (app holds the API server's answer).
func (r *Reconciler) wrote(app *sollv1.Application) {
	if rv, err := strconv.ParseUint(app.ResourceVersion, 10, 64); err == nil {
		r.apps.update(client.ObjectKeyFromObject(app), func(rec *appRecord) { rec.lastWrite = rv })
	}
}

// rememberRemoteBases records the repositories of the remote Kustomize
// bases of source field of app (appstate.Pipeline.OnRemoteBases), when app
// has a record: renders the API asks for of apps that do not exist yet
// leave nothing behind.
func (r *Reconciler) rememberRemoteBases(app *sollv1.Application, field string, repos []string) {
	r.apps.updateExisting(client.ObjectKeyFromObject(app), func(rec *appRecord) {
		bases := maps.Clone(rec.remoteBases)
		if bases == nil {
			bases = map[string][]string{}
		}
		bases[field] = slices.Clone(repos)
		rec.remoteBases = bases
	})
}

// refreshInterval is the time until app's next periodic comparison: its
// interval plus up to 10% of jitter, ending on a tick of refreshTick(d)
// so that apps due within one tick wake together: thousands of idle apps
// then cost the work queue one timer a tick rather than one per app.
func (r *Reconciler) refreshInterval(app *sollv1.Application) time.Duration {
	d := r.RefreshInterval
	if app.Spec.RefreshInterval != nil && app.Spec.RefreshInterval.Duration > 0 {
		d = app.Spec.RefreshInterval.Duration
	}
	return untilTick(time.Now(), d+time.Duration(rand.Int64N(int64(d)/10+1)), refreshTick(d))
}

// refreshTick is the granularity of periodic comparisons of interval d:
// a second, or a tenth of d when that is shorter.
func refreshTick(d time.Duration) time.Duration {
	return max(min(time.Second, d/10), time.Millisecond)
}

// untilTick returns the time from now until the first multiple of tick
// at or after now+after.
func untilTick(now time.Time, after, tick time.Duration) time.Duration {
	at := now.Add(after)
	if t := at.Truncate(tick); t.Before(at) {
		at = t.Add(tick)
	}
	return at.Sub(now)
}

// handleRefresh honours the refresh annotation and removes it, unless
// the request has to wait for the end of its repositories' coalescing
// window: then it returns how long, and the annotation stays until then.
func (r *Reconciler) handleRefresh(ctx context.Context, app *sollv1.Application, mode string) (time.Duration, error) {
	// Both modes list the repository's refs anew (a webhook's push must
	// be seen now), coalesced per repository (see refreshCoalescer): a
	// push that refreshes many apps of one repository costs one listing,
	// and no request is dropped. A hard refresh also forgets cached dry
	// runs.
	srcs, _ := appstate.Sources(app)
	bases := r.apps.get(client.ObjectKeyFromObject(app)).remoteBases
	var repos []string
	for i, src := range srcs {
		if src.Chart == "" {
			repos = append(repos, src.RepoURL)
		}
		repos = append(repos, bases[appstate.SourcePath(app, i)]...)
	}
	rv, err := strconv.ParseUint(app.ResourceVersion, 10, 64)
	force := mode == "hard" || err != nil
	now := time.Now()
	var wait time.Duration
	for _, repo := range repos {
		list, w := r.refreshes.request(refreshRequest{
			repo: project.NormalizeRepoURL(repo), rv: rv, force: force,
			token: app.Annotations[sollv1.RefreshPushAnnotation],
		}, now)
		if list {
			r.Pipeline.Fetcher.Refresh(repo)
		}
		wait = max(wait, w)
	}
	if wait > 0 {
		return wait, nil
	}
	if mode == "hard" {
		r.Pipeline.DryRuns.Forget()
		r.clusters.forgetDryRuns()
	}
	patch := client.MergeFrom(app.DeepCopy())
	delete(app.Annotations, sollv1.RefreshAnnotation)
	delete(app.Annotations, sollv1.RefreshPushAnnotation)
	if err := r.patchApp(ctx, app, patch); err != nil {
		return 0, err
	}
	r.wrote(app)
	return 0, nil
}

// restorePrune turns automated prune on again on an Application that a
// restore turned it off on (sollv1.RestorePrunePendingAnnotation), now
// that it has been compared once, and removes the annotation. An
// Application whose automated sync was removed since only loses the
// annotation.
func (r *Reconciler) restorePrune(ctx context.Context, app *sollv1.Application) error {
	patch := client.MergeFrom(app.DeepCopy())
	delete(app.Annotations, sollv1.RestorePrunePendingAnnotation)
	if sp := app.Spec.SyncPolicy; sp != nil && sp.Automated != nil {
		sp.Automated.Prune = true
	}
	if err := r.patchApp(ctx, app, patch); err != nil {
		return fmt.Errorf("turn automated prune on again after the restore: %w", err)
	}
	r.appLog(ctx, app).Info("automated prune turned on again after the first comparison since the restore")
	return nil
}

// compare compares app with the cluster, in a span of its own.
func (r *Reconciler) compare(ctx context.Context, app *sollv1.Application) (*appstate.Comparison, error) {
	ctx, span := tracing.Tracer().Start(ctx, "soll.compare")
	c, err := r.Pipeline.Compare(ctx, app, nil)
	tracing.End(span, err)
	return c, err
}

// comparisonFailed records a failed comparison, with also (when not nil)
// the end of the operation that ran before it: nothing is applied, the
// condition names the stage and the error, and the app is retried later.
func (r *Reconciler) comparisonFailed(ctx context.Context, app *sollv1.Application, err error, also statusChange) (ctrl.Result, error) {
	reason := comparisonReason(err)
	r.apps.update(client.ObjectKeyFromObject(app), func(rec *appRecord) { rec.unchanged = nil })
	r.appLog(ctx, app).Info("comparison failed", "reason", reason, "error", err.Error())
	r.event(app, corev1.EventTypeWarning, reason, "Compare", "%s", err.Error())
	perr := r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) {
		if also != nil {
			also(s)
		}
		setCondition(s, app.Generation, sollv1.ConditionCompared, metav1.ConditionFalse, reason, err.Error())
		setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, reason, err.Error())
		if s.Sync == nil {
			s.Sync = &sollv1.SyncStatus{}
		}
		s.Sync.Status = sollv1.SyncStatusUnknown
		if reason == sollv1.ReasonClusterUnavailable {
			// Nothing is known of the objects there now.
			s.Health = &sollv1.HealthStatus{Status: sollv1.HealthUnknown, Message: err.Error()}
		}
		now := metav1.Now()
		s.ReconciledAt = &now
		s.ObservedGeneration = app.Generation
	})
	if perr != nil {
		return ctrl.Result{}, perr
	}
	return ctrl.Result{RequeueAfter: r.ErrorRetryInterval}, nil
}

// comparisonReason is the reason of the Compared condition (and Ready) for
// err, an error of a comparison.
func comparisonReason(err error) string {
	if reason := appstate.ReasonOf(err); reason != "" {
		return string(reason)
	}
	return sollv1.ReasonDiffError
}

// reconciledAtHeartbeat is how stale status.reconciledAt may get when a
// comparison changes nothing else: writing it after every periodic
// comparison would cost one API write per app per refresh interval for
// nothing (thousands of apps idle).
const reconciledAtHeartbeat = time.Hour

// writeComparison stores the comparison in status, with what held a sync
// back (a sync window, dependencies) and also (when not nil) the end of
// the operation that ran before it. A comparison that was
// asked for (refreshed) always records its time in reconciledAt, even when
// nothing else changed: that is how whoever asked (soll app diff
// --refresh) learns that it is done.
func (r *Reconciler) writeComparison(ctx context.Context, app *sollv1.Application, c *appstate.Comparison, h held, also statusChange, refreshed bool) error {
	srcs, _ := appstate.Sources(app)
	prev := app.Status.ReconciledAt
	change := func(s *sollv1.ApplicationStatus) {
		if also != nil {
			also(s)
		}
		syncStatus := sollv1.SyncStatusSynced
		if !c.Synced {
			syncStatus = sollv1.SyncStatusOutOfSync
		}
		s.Sync = &sollv1.SyncStatus{
			Status:     syncStatus,
			Revision:   c.Revision(),
			Revisions:  c.Revisions(),
			ComparedTo: &sollv1.ComparedTo{Sources: srcs, Destination: &app.Spec.Destination},
		}
		s.Health = &sollv1.HealthStatus{Status: sollv1.HealthStatusCode(c.Health), Message: c.HealthMessage}
		s.Resources = c.Resources
		s.SourceRevisions, s.SourceTypes = sourceMetadata(c)
		s.ReconciledAt = prev
		s.ObservedGeneration = app.Generation
		s.Deletion = nil
		if hooks := deletionHooksOf(c); len(hooks) > 0 {
			s.Deletion = &sollv1.DeletionStatus{Hooks: hooks}
		}
		dropRetiredConditions(s)
		if st := s.OperationState; st != nil && st.FinishedAt != nil && meta.FindStatusCondition(s.Conditions, sollv1.ConditionOperationSucceeded) == nil {
			// The last operation ended before this version of soll
			// wrote its conditions: say how it ended, as far as its
			// phase tells.
			status, reason := metav1.ConditionFalse, sollv1.ReasonSyncFailed
			if st.Phase == sollv1.OperationSucceeded {
				status, reason = metav1.ConditionTrue, sollv1.ReasonSucceeded
			}
			setCondition(s, app.Generation, sollv1.ConditionOperationSucceeded, status, reason, st.Message)
		}
		setCondition(s, app.Generation, sollv1.ConditionCompared, metav1.ConditionTrue, sollv1.ReasonSucceeded, "compared with the sources at "+shortRevisions(c.Revisions()))
		if h.window != nil {
			setCondition(s, app.Generation, sollv1.ConditionSyncWindowBlocked, metav1.ConditionTrue, sollv1.ReasonSyncWindowClosed, "automated sync held back: "+h.window.Reason)
		} else {
			meta.RemoveStatusCondition(&s.Conditions, sollv1.ConditionSyncWindowBlocked)
		}
		switch {
		case len(app.Spec.DependsOn) == 0:
			meta.RemoveStatusCondition(&s.Conditions, sollv1.ConditionDependenciesReady)
		case h.deps != nil:
			msg := h.deps.message
			if app.Operation != nil && !h.deps.refuses() {
				msg = "the requested sync is " + msg
			}
			setCondition(s, app.Generation, sollv1.ConditionDependenciesReady, metav1.ConditionFalse, h.deps.reason, msg)
		default:
			setCondition(s, app.Generation, sollv1.ConditionDependenciesReady, metav1.ConditionTrue, sollv1.ReasonSyncedAndHealthy, "every Application depended on is Synced and Healthy")
		}
		if len(c.Unadopted) > 0 {
			setCondition(s, app.Generation, sollv1.ConditionExistingResource, metav1.ConditionTrue, sollv1.ReasonNotManagedBySoll, strings.Join(c.Unadopted, "; "))
		} else {
			meta.RemoveStatusCondition(&s.Conditions, sollv1.ConditionExistingResource)
		}
		if len(c.Conflicts) > 0 {
			setCondition(s, app.Generation, sollv1.ApplicationSharedResource, metav1.ConditionTrue, sollv1.ReasonManagedByAnotherApplication, strings.Join(c.Conflicts, "; "))
		} else {
			meta.RemoveStatusCondition(&s.Conditions, sollv1.ApplicationSharedResource)
		}
		setSyncOptionProblems(s, app.Generation, c)
		switch {
		case c.Synced && c.Health == health.Healthy:
			setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionTrue, sollv1.ReasonSyncedAndHealthy, "synced to "+appstate.Short(c.Revision())+" and healthy")
		case !c.Synced:
			setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, sollv1.ReasonOutOfSync, outOfSyncMessage(c))
		default:
			setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, string(c.Health), c.HealthMessage)
		}
	}
	r.reportSyncOptionProblems(app, c)
	next := app.Status.DeepCopy()
	change(next)
	if !refreshed && prev != nil && time.Since(prev.Time) < reconciledAtHeartbeat && equality.Semantic.DeepEqual(*next, app.Status) {
		return nil // unchanged, no heartbeat due: the idle path writes nothing
	}
	now := metav1.Now()
	next.ReconciledAt = &now
	return r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) { next.DeepCopyInto(s) })
}

func outOfSyncMessage(c *appstate.Comparison) string {
	n := 0
	first := ""
	for _, res := range c.Results {
		if res.Status != "Synced" {
			if n == 0 {
				first = fmt.Sprintf("%s is %s", res.Key, res.Status)
				if len(res.Drift) > 0 {
					first += " (" + res.Drift[0].String() + ")"
				}
			}
			n++
		}
	}
	if n <= 1 {
		return first
	}
	return fmt.Sprintf("%s, and %d more objects differ", first, n-1)
}

// shortRevisions shortens revisions for messages, comma-separated.
func shortRevisions(revs []string) string {
	short := make([]string, len(revs))
	for i, r := range revs {
		short[i] = appstate.Short(r)
	}
	return strings.Join(short, ", ")
}

// retiredConditions are the condition types that earlier versions of soll
// wrote and this one does not (ComparisonError and SyncError read
// negatively; PreDeleteHooksDone is status.deletion now): every status
// write removes them.
var retiredConditions = []string{"ComparisonError", "SyncError", "PreDeleteHooksDone"}

// dropRetiredConditions removes the retired condition types from s.
func dropRetiredConditions(s *sollv1.ApplicationStatus) {
	for _, t := range retiredConditions {
		meta.RemoveStatusCondition(&s.Conditions, t)
	}
}

// hasRetiredConditions reports whether s still holds a retired condition.
func hasRetiredConditions(s *sollv1.ApplicationStatus) bool {
	return slices.ContainsFunc(s.Conditions, func(c metav1.Condition) bool { return slices.Contains(retiredConditions, c.Type) })
}

// patchStatus applies mutate to a copy of app's status and patches it,
// within StatusWriteTimeout. Retired conditions go with every write.
func (r *Reconciler) patchStatus(ctx context.Context, app *sollv1.Application, mutate func(*sollv1.ApplicationStatus)) error {
	orig := app.DeepCopy()
	mutate(&app.Status)
	dropRetiredConditions(&app.Status)
	if equality.Semantic.DeepEqual(orig.Status, app.Status) {
		return nil // nothing to write: spare the API server a patch
	}
	ctx, cancel := context.WithTimeout(ctx, r.StatusWriteTimeout)
	defer cancel()
	if err := r.Client.Status().Patch(ctx, app, client.MergeFrom(orig)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("update status of application %s/%s: %w", app.Namespace, app.Name, err)
	}
	r.wrote(app)
	return nil
}

// patchApp patches app (not its status) within StatusWriteTimeout and
// notes soll's write of it.
func (r *Reconciler) patchApp(ctx context.Context, app *sollv1.Application, patch client.Patch) error {
	ctx, cancel := context.WithTimeout(ctx, r.StatusWriteTimeout)
	defer cancel()
	if err := r.Client.Patch(ctx, app, patch); err != nil {
		return err
	}
	r.wrote(app)
	return nil
}

// logStatusError logs a failed status write that the caller cannot
// return: the write is retried with the app's next reconcile.
func (r *Reconciler) logStatusError(ctx context.Context, app *sollv1.Application, what string, err error) {
	if err != nil {
		r.appLog(ctx, app).Error("write application status", "what", what, "error", err.Error())
	}
}

func setCondition(s *sollv1.ApplicationStatus, gen int64, typ string, status metav1.ConditionStatus, reason, msg string) {
	if reason == "" {
		reason = "Unknown"
	}
	if len(msg) > 32000 {
		msg = msg[:32000]
	}
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen})
}

func (r *Reconciler) event(app *sollv1.Application, typ, reason, action, format string, args ...any) {
	if r.Recorder == nil {
		return
	}
	r.Recorder.Eventf(app, nil, typ, reason, action, "%s", kube.EventNote(fmt.Sprintf(format, args...)))
}

// sourceMetadata describes the revisions of c and the tools that rendered
// them, one entry per source.
func sourceMetadata(c *appstate.Comparison) ([]sollv1.RevisionMetadata, []sollv1.SourceType) {
	var meta []sollv1.RevisionMetadata
	var types []sollv1.SourceType
	for _, st := range c.Sources {
		m := sollv1.RevisionMetadata{Revision: st.Revision}
		if st.Commit.SHA != "" {
			when := metav1.NewTime(st.Commit.Author.When)
			m.Author = fmt.Sprintf("%s <%s>", st.Commit.Author.Name, st.Commit.Author.Email)
			m.Date = &when
			m.Message = st.Commit.Subject
		}
		meta = append(meta, m)
		types = append(types, sollv1.SourceType(st.Tool))
	}
	return meta, types
}
