package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	gosync "sync"
	"time"
	"unicode/utf8"

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
	"soll.dev/internal/diff"
	"soll.dev/internal/health"
	"soll.dev/internal/kube"
	"soll.dev/internal/project"
	"soll.dev/internal/render"
	sollsource "soll.dev/internal/source"
)

// Annotations users set on an Application.
const (
	// RefreshAnnotation asks for a refresh now; see
	// sollv1.RefreshAnnotation.
	RefreshAnnotation = sollv1.RefreshAnnotation
	// ResourcesFinalizer makes deleting an Application delete its
	// resources first (cascade); without it they are left in place.
	ResourcesFinalizer = sollv1.ResourcesFinalizer
)

// defaultRefreshCoalesce is the default least time between two ref
// listings that refresh requests of apps of one repository cause.
const defaultRefreshCoalesce = 2 * time.Second

// SyncWindowCondition is True while the Project's sync windows hold an
// automated sync of the Application back.
const SyncWindowCondition = sollv1.ConditionSyncWindowBlocked

// ExistingResourceCondition is True while objects of the Application's
// sources exist in the cluster without soll's tracking annotation (someone
// else created them) and the Application may not adopt them
// (syncOptions.adoptExisting, or the object's AdoptExisting sync option);
// its message names each object and how to adopt it. Syncs are refused
// until then.
const ExistingResourceCondition = sollv1.ConditionExistingResource

// Reconciler reconciles Applications: it compares Git with the cluster,
// runs sync operations, and reports status.
type Reconciler struct {
	Client client.Client
	// APIReader reads an Application from the API server when the cache
	// is known to be behind soll's own last write of it; nil: never.
	APIReader client.Reader
	Kube      *kube.Client
	Fetcher   sollsource.Fetcher
	Renderer  render.Renderer
	// ClusterInfo returns the destination cluster's version and API
	// versions for Helm's capabilities; nil means Helm's defaults.
	ClusterInfo func() (version string, apiVersions []string)
	Health      *health.Checker
	// DryRuns caches dry-run answers between comparisons; nil disables.
	DryRuns  *diff.DryRunCache
	Recorder events.EventRecorder
	Log      *slog.Logger
	// RefreshInterval is the default time between comparisons; jitter of
	// up to 10% spreads apps out. Zero means 3 minutes.
	RefreshInterval time.Duration
	// SelfHealBackoff is the least time between two self-heal syncs of
	// one app. Zero means 2 seconds.
	SelfHealBackoff time.Duration
	// Workers is the number of apps reconciled in parallel; zero means 16.
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

	settingsCache settingsCache
	sops          sopsCache
	live          *liveWatcher
	lastHeal      gosync.Map // app key -> time.Time
	refreshes     *refreshCoalescer
	// lastWrite: app key -> the resourceVersion (uint64) of soll's last
	// write of the Application, until the cache has caught up with it.
	lastWrite gosync.Map
	// remoteBases: remoteBasesKey -> the repository URLs of the remote
	// Kustomize bases of a source at its last comparison, refreshed with
	// the app's own repositories.
	remoteBases gosync.Map
	tools       *toolCache
	// unchanged: app key -> unchangedMemo of its last full comparison.
	unchanged gosync.Map
	wake      appWaker
}

// SetupWithManager registers the reconciler and its live-state watches.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.RefreshInterval == 0 {
		r.RefreshInterval = 3 * time.Minute
	}
	if r.SelfHealBackoff == 0 {
		r.SelfHealBackoff = 2 * time.Second
	}
	if r.Workers == 0 {
		r.Workers = 16
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
	r.refreshes = newRefreshCoalescer(r.RefreshCoalesce)
	if r.Log == nil {
		r.Log = slog.Default()
	}
	var err error
	r.live, err = newLiveWatcher(mgr.GetConfig(), r.Kube, &r.wake, r.Log)
	if err != nil {
		return err
	}
	if err := mgr.Add(r.live); err != nil {
		return err
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
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Workers}).
		Named("application").
		Complete(r)
}

// projectApps lists the Applications of a Project, from the cache.
func (r *Reconciler) projectApps(ctx context.Context, obj client.Object) []reconcile.Request {
	var apps sollv1.ApplicationList
	if err := r.Client.List(ctx, &apps, client.InNamespace(obj.GetNamespace())); err != nil {
		r.Log.Error("list the applications of a project", "project", obj.GetName(), "error", err.Error())
		return nil
	}
	var out []reconcile.Request
	for _, a := range apps.Items {
		p := a.Spec.Project
		if p == "" {
			p = project.DefaultName
		}
		if p == obj.GetName() {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&a)})
		}
	}
	return out
}

// Reconcile is one pass over one Application.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var app sollv1.Application
	if err := r.getApp(ctx, req.NamespacedName, &app); err != nil {
		if apierrors.IsNotFound(err) {
			r.unchanged.Delete(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !app.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &app)
	}
	if app.Spec.Suspend {
		return ctrl.Result{}, r.patchStatus(ctx, &app, func(s *sollv1.ApplicationStatus) {
			setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, "Suspended", "reconciliation is suspended (spec.suspend)")
		})
	}
	mode, refreshed := app.Annotations[RefreshAnnotation]
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
		r.Log.Debug("comparison unchanged", "app", req.String())
		return ctrl.Result{RequeueAfter: r.refreshInterval(&app)}, nil
	}
	c, err := r.compare(ctx, &app, nil)
	observeCompare(err, started)
	if err != nil {
		return r.comparisonFailed(ctx, &app, err, nil)
	}
	var finish statusChange
	if op, automated := r.nextOperation(&app, c); op != nil {
		if finish, err = r.runOperation(ctx, &app, op, automated, c); err != nil {
			return ctrl.Result{}, err
		}
		if st := app.Status.OperationState; finish == nil && st != nil && st.Phase == sollv1.OperationRunning {
			// A retry is scheduled.
			return ctrl.Result{RequeueAfter: retryDelay(&app, st)}, nil
		}
		// Report the state after the operation, written with its
		// outcome.
		if c, err = r.compare(ctx, &app, nil); err != nil {
			return r.comparisonFailed(ctx, &app, err, finish)
		}
	}
	r.live.ensure(c)
	if err := r.writeComparison(ctx, &app, c, finish, refreshed); err != nil {
		r.unchanged.Delete(req.NamespacedName)
		return ctrl.Result{}, err
	}
	r.remember(&app, c, started)
	after := r.refreshInterval(&app)
	if c.window != nil && c.window.NextChange != nil {
		// Look again when the window opens.
		after = min(after, max(time.Until(*c.window.NextChange), time.Second))
	}
	if c.healAfter > 0 {
		after = min(after, c.healAfter)
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
			r.lastWrite.Delete(key)
		}
		return err
	}
	v, ok := r.lastWrite.Load(key)
	if !ok {
		return nil
	}
	if rv, err := strconv.ParseUint(app.ResourceVersion, 10, 64); err == nil && rv >= v.(uint64) {
		r.lastWrite.CompareAndDelete(key, v)
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
		r.lastWrite.Store(client.ObjectKeyFromObject(app), rv)
	}
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
	srcs, _ := appSources(app)
	var repos []string
	for i, src := range srcs {
		if src.Chart == "" {
			repos = append(repos, src.RepoURL)
		}
		if bases, ok := r.remoteBases.Load(remoteBasesKey(app, sourcePath(app, i))); ok {
			repos = append(repos, bases.([]string)...)
		}
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
			r.Fetcher.Refresh(repo)
		}
		wait = max(wait, w)
	}
	if wait > 0 {
		return wait, nil
	}
	if mode == "hard" {
		r.DryRuns.Forget()
	}
	patch := client.MergeFrom(app.DeepCopy())
	delete(app.Annotations, RefreshAnnotation)
	delete(app.Annotations, sollv1.RefreshPushAnnotation)
	if err := r.Client.Patch(ctx, app, patch); err != nil {
		return 0, err
	}
	r.wrote(app)
	return 0, nil
}

// comparisonFailed records a failed comparison, with also (when not nil)
// the end of the operation that ran before it: nothing is applied, the
// condition names the stage and the error, and the app is retried later.
func (r *Reconciler) comparisonFailed(ctx context.Context, app *sollv1.Application, err error, also statusChange) (ctrl.Result, error) {
	reason := sollv1.ConditionComparisonError
	var se *stageError
	if errors.As(err, &se) {
		reason = se.reason
	}
	r.unchanged.Delete(client.ObjectKeyFromObject(app))
	r.Log.Info("comparison failed", "app", app.Namespace+"/"+app.Name, "reason", reason, "error", err.Error())
	r.event(app, corev1.EventTypeWarning, reason, "Compare", "%s", err.Error())
	perr := r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) {
		if also != nil {
			also(s)
		}
		setCondition(s, app.Generation, sollv1.ConditionComparisonError, metav1.ConditionTrue, reason, err.Error())
		setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, reason, err.Error())
		if s.Sync == nil {
			s.Sync = &sollv1.SyncStatus{}
		}
		s.Sync.Status = sollv1.SyncStatusUnknown
		now := metav1.Now()
		s.ReconciledAt = &now
		s.ObservedGeneration = app.Generation
	})
	if perr != nil {
		return ctrl.Result{}, perr
	}
	return ctrl.Result{RequeueAfter: r.ErrorRetryInterval}, nil
}

// reconciledAtHeartbeat is how stale status.reconciledAt may get when a
// comparison changes nothing else: writing it after every periodic
// comparison would cost one API write per app per refresh interval for
// nothing (thousands of apps idle).
const reconciledAtHeartbeat = time.Hour

// writeComparison stores the comparison in status, with also (when not
// nil) the end of the operation that ran before it. A comparison that was
// asked for (refreshed) always records its time in reconciledAt, even when
// nothing else changed: that is how whoever asked (soll app diff
// --refresh) learns that it is done.
func (r *Reconciler) writeComparison(ctx context.Context, app *sollv1.Application, c *comparison, also statusChange, refreshed bool) error {
	srcs, _ := appSources(app)
	prev := app.Status.ReconciledAt
	change := func(s *sollv1.ApplicationStatus) {
		if also != nil {
			also(s)
		}
		syncStatus := sollv1.SyncStatusSynced
		if !c.synced {
			syncStatus = sollv1.SyncStatusOutOfSync
		}
		s.Sync = &sollv1.SyncStatus{
			Status:     syncStatus,
			Revision:   c.revision(),
			Revisions:  c.revisions(),
			ComparedTo: &sollv1.ComparedTo{Sources: srcs, Destination: &app.Spec.Destination},
		}
		s.Health = &sollv1.HealthStatus{Status: sollv1.HealthStatusCode(c.health), Message: c.healthMsg}
		s.Resources = c.resources
		s.SourceRevisions, s.SourceTypes = sourceMetadata(c)
		s.ReconciledAt = prev
		s.ObservedGeneration = app.Generation
		meta.RemoveStatusCondition(&s.Conditions, sollv1.ConditionComparisonError)
		if c.window != nil {
			setCondition(s, app.Generation, SyncWindowCondition, metav1.ConditionTrue, "SyncWindowClosed", "automated sync held back: "+c.window.Reason)
		} else {
			meta.RemoveStatusCondition(&s.Conditions, SyncWindowCondition)
		}
		if len(c.unadopted) > 0 {
			setCondition(s, app.Generation, ExistingResourceCondition, metav1.ConditionTrue, "NotManagedBySoll", strings.Join(c.unadopted, "; "))
		} else {
			meta.RemoveStatusCondition(&s.Conditions, ExistingResourceCondition)
		}
		if len(c.conflicts) > 0 {
			setCondition(s, app.Generation, sollv1.ApplicationSharedResource, metav1.ConditionTrue, "ManagedByAnotherApplication", strings.Join(c.conflicts, "; "))
		} else {
			meta.RemoveStatusCondition(&s.Conditions, sollv1.ApplicationSharedResource)
		}
		switch {
		case c.synced && c.health == health.Healthy:
			setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionTrue, "SyncedAndHealthy", "synced to "+short(c.revision())+" and healthy")
		case !c.synced:
			setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, "OutOfSync", outOfSyncMessage(c))
		default:
			setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, string(c.health), c.healthMsg)
		}
	}
	next := app.Status.DeepCopy()
	change(next)
	if !refreshed && prev != nil && time.Since(prev.Time) < reconciledAtHeartbeat && equality.Semantic.DeepEqual(*next, app.Status) {
		return nil // unchanged, no heartbeat due: the idle path writes nothing
	}
	now := metav1.Now()
	next.ReconciledAt = &now
	return r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) { next.DeepCopyInto(s) })
}

func outOfSyncMessage(c *comparison) string {
	n := 0
	first := ""
	for _, res := range c.results {
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

// patchStatus applies mutate to a copy of app's status and patches it.
func (r *Reconciler) patchStatus(ctx context.Context, app *sollv1.Application, mutate func(*sollv1.ApplicationStatus)) error {
	orig := app.DeepCopy()
	mutate(&app.Status)
	if equality.Semantic.DeepEqual(orig.Status, app.Status) {
		return nil // nothing to write: spare the API server a patch
	}
	if err := r.Client.Status().Patch(ctx, app, client.MergeFrom(orig)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("update status of application %s/%s: %w", app.Namespace, app.Name, err)
	}
	r.wrote(app)
	return nil
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
	r.Recorder.Eventf(app, nil, typ, reason, action, "%s", EventNote(fmt.Sprintf(format, args...)))
}

// maxEventNote is the longest note, in bytes, the events API accepts; it
// rejects longer events outright.
const maxEventNote = 1024

// EventNote shortens note to maxEventNote bytes: a sync that fails on
// many objects at once (an unreachable API server) joins all their errors.
func EventNote(note string) string {
	if len(note) <= maxEventNote {
		return note
	}
	const more = "…"
	cut := maxEventNote - len(more)
	for cut > 0 && !utf8.RuneStart(note[cut]) {
		cut--
	}
	return note[:cut] + more
}

// sourceMetadata describes the revisions of c and the tools that rendered
// them, one entry per source.
func sourceMetadata(c *comparison) ([]sollv1.RevisionMetadata, []sollv1.SourceType) {
	var meta []sollv1.RevisionMetadata
	var types []sollv1.SourceType
	for _, st := range c.sources {
		m := sollv1.RevisionMetadata{Revision: st.revision}
		if st.commit.SHA != "" {
			when := metav1.NewTime(st.commit.Author.When)
			m.Author = fmt.Sprintf("%s <%s>", st.commit.Author.Name, st.commit.Author.Email)
			m.Date = &when
			m.Message = st.commit.Subject
		}
		meta = append(meta, m)
		types = append(types, sollv1.SourceType(st.tool))
	}
	return meta, types
}
