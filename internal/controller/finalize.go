package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/kube"
	"soll.dev/internal/resource"
	syncengine "soll.dev/internal/sync"
)

// DefaultDeletionTimeout bounds the wait for an Application's objects to go:
// after it, the deletion goes on (PostDelete hooks, then the finalizer is
// removed) and the leftovers are named in a Warning event, so deleting an
// Application never hangs forever on a stuck finalizer of one of its
// objects. It also bounds how long a deletion waits for sources that do
// not render when no deletion hook is known (status.deletion.hooks).
// Failed PreDelete and PostDelete hooks are not bounded by it: they are
// retried until they succeed (or the finalizer is removed).
// Reconciler.DeletionTimeout changes it.
const DefaultDeletionTimeout = 10 * time.Minute

// Delays between attempts of failed deletion hooks: the first retry after
// deletionRetryMin, doubled with each failure up to deletionRetryMax.
const (
	deletionRetryMin = 5 * time.Second
	deletionRetryMax = 3 * time.Minute
)

// deletionRetryDelay is the delay after the attempts-th failure.
func deletionRetryDelay(attempts int32) time.Duration {
	d := deletionRetryMin
	for i := int32(1); i < attempts && d < deletionRetryMax; i++ {
		d *= 2
	}
	return min(d, deletionRetryMax)
}

// finalize deletes an Application with its objects when it carries the
// resources finalizer: its PreDelete hooks run (and must succeed) before
// any object is deleted; then its objects (and the PreDelete hooks' own
// objects) are deleted; then its PostDelete hooks run, and their objects
// are deleted once they all succeeded; then the finalizer goes. Each step
// is recorded in status.deletion, so a restarted controller goes on where
// the last one stopped. Without the finalizer nothing runs and nothing is
// deleted.
func (r *Reconciler) finalize(ctx context.Context, app *sollv1.Application) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(app, sollv1.ResourcesFinalizer) {
		// Only seen while another finalizer holds the Application.
		return ctrl.Result{}, r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) {
			setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, sollv1.ReasonDeleting,
				"being deleted without its objects (no "+sollv1.ResourcesFinalizer+"): they stay in the cluster, and no deletion hook runs")
		})
	}
	key := client.ObjectKeyFromObject(app)
	if mode, ok := app.Annotations[sollv1.RefreshAnnotation]; ok {
		// A hook fixed in Git is run at once, not after the backoff.
		wait, err := r.handleRefresh(ctx, app, mode)
		if err != nil || wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, err
		}
		r.apps.update(key, func(rec *appRecord) { rec.deletionRetry = time.Time{} })
	}
	if at := r.apps.get(key).deletionRetry; time.Now().Before(at) {
		// Woken before the backoff ended (a hook's object changed).
		return ctrl.Result{RequeueAfter: time.Until(at)}, nil
	}
	phase := sollv1.DeletionPreDelete
	if d := app.Status.Deletion; d != nil && d.Phase != "" {
		phase = d.Phase
	}
	if phase == sollv1.DeletionPreDelete {
		if res, wait, err := r.waitForDependants(ctx, app); err != nil || wait {
			return res, err
		}
		if res, done := r.deletionHooks(ctx, app, syncengine.PhasePreDelete); !done {
			return res, nil
		}
		if err := r.enterDeletionPhase(ctx, app, sollv1.DeletionDeleting, "deleting the objects"); err != nil {
			return ctrl.Result{}, err
		}
		phase = sollv1.DeletionDeleting
	}
	if phase == sollv1.DeletionDeleting {
		if res, done, err := r.deleteObjects(ctx, app); err != nil || !done {
			return res, err
		}
		if err := r.enterDeletionPhase(ctx, app, sollv1.DeletionPostDelete, "the objects are deleted"); err != nil {
			return ctrl.Result{}, err
		}
	}
	if res, done := r.deletionHooks(ctx, app, syncengine.PhasePostDelete); !done {
		return res, nil
	}
	r.deleteHookObjects(ctx, app, sollv1.SyncPhasePostDelete, "PostDelete")
	patch := client.MergeFrom(app.DeepCopy())
	controllerutil.RemoveFinalizer(app, sollv1.ResourcesFinalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.patchApp(ctx, app, patch))
}

// waitForDependants holds the deletion of app, before its PreDelete hooks,
// while Applications that depend on it are being deleted too: deletion
// runs in the reverse order of dependsOn. Their removal wakes app
// (dependantApps). Apps in a dependency cycle do not wait for each other.
func (r *Reconciler) waitForDependants(ctx context.Context, app *sollv1.Application) (ctrl.Result, bool, error) {
	waiting, err := r.dependantsBeingDeleted(ctx, app)
	if err != nil || len(waiting) == 0 || r.dependencyCycle(ctx, app) != nil {
		return ctrl.Result{}, false, err
	}
	msg := "waiting for the Applications that depend on it to be deleted first: " + strings.Join(waiting, ", ")
	if d := app.Status.Deletion; d == nil || d.Message != msg {
		err = r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) {
			deletionStatus(s).Message = msg
			setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, sollv1.ReasonDeleting, "being deleted: "+msg)
		})
	}
	// The dependants' removal wakes app; this is only a safety net.
	return ctrl.Result{RequeueAfter: 30 * time.Second}, true, err
}

// enterDeletionPhase records that the deletion of app is at phase now.
func (r *Reconciler) enterDeletionPhase(ctx context.Context, app *sollv1.Application, phase sollv1.DeletionPhase, msg string) error {
	now := metav1.Now()
	return r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) {
		d := deletionStatus(s)
		d.Phase, d.PhaseStartedAt, d.Message, d.Attempts = phase, &now, msg, 0
		setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, sollv1.ReasonDeleting, "being deleted: "+msg)
	})
}

// deletionStatus returns s.Deletion, created when nil.
func deletionStatus(s *sollv1.ApplicationStatus) *sollv1.DeletionStatus {
	if s.Deletion == nil {
		s.Deletion = &sollv1.DeletionStatus{}
	}
	return s.Deletion
}

// phaseStarted is when the deletion of app entered its current phase; the
// deletion's start when not recorded (a deletion begun by an earlier
// version of soll).
func phaseStarted(app *sollv1.Application) time.Time {
	if d := app.Status.Deletion; d != nil && d.PhaseStartedAt != nil {
		return d.PhaseStartedAt.Time
	}
	return app.DeletionTimestamp.Time
}

// neverDeployed reports an app that never ran an operation: nothing of it
// was ever applied, so neither are its deletion hooks run.
func neverDeployed(app *sollv1.Application) bool {
	return len(app.Status.History) == 0 && app.Status.OperationState == nil
}

// knownHooks are the hooks of phase that the last comparison of app found.
func knownHooks(app *sollv1.Application, phase syncengine.Phase) []string {
	var out []string
	if d := app.Status.Deletion; d != nil {
		for _, h := range d.Hooks {
			if slices.Contains(h.Types, sollv1.HookType(phase)) {
				out = append(out, resource.Key{Group: h.Group, Kind: h.Kind, Namespace: h.Namespace, Name: h.Name}.String())
			}
		}
	}
	return out
}

// deletionHooks runs app's hooks of phase (PreDelete or PostDelete),
// rendered at the sources' target revisions (a hook fixed in Git runs as
// fixed), and records their results in status.deletion. It reports done
// when they succeeded or there are none; otherwise the deletion waits:
// res says when to try again, and the Ready condition and an event say
// why.
func (r *Reconciler) deletionHooks(ctx context.Context, app *sollv1.Application, phase syncengine.Phase) (res ctrl.Result, done bool) {
	if neverDeployed(app) {
		return ctrl.Result{}, true
	}
	reason, failedEvent := sollv1.ReasonPreDeleteHooksFailed, "PreDeleteHooksFailed"
	if phase == syncengine.PhasePostDelete {
		reason, failedEvent = sollv1.ReasonPostDeleteHooksFailed, "PostDeleteHooksFailed"
	}
	c, err := r.Pipeline.Compare(ctx, app, nil)
	if err != nil {
		known := knownHooks(app, phase)
		if len(known) == 0 && time.Since(phaseStarted(app)) >= r.DeletionTimeout {
			// Not known to have any: the deletion does not wait
			// for sources that may never render again.
			r.event(app, corev1.EventTypeWarning, "DeletionHooksSkipped", "Delete",
				"the sources did not render for %s; going on without the %s hooks they may have: %v", r.DeletionTimeout, phase, err)
			return ctrl.Result{}, true
		}
		what := fmt.Sprintf("cannot render the sources to run their %s hooks", phase)
		if len(known) > 0 {
			what = fmt.Sprintf("cannot render the sources to run their %s hooks (%s)", phase, strings.Join(first(known, 5), ", "))
		}
		return r.deletionHooksFailed(ctx, app, reason, failedEvent, phase, fmt.Sprintf("%s: %v", what, err), nil), false
	}
	var hooks []*unstructured.Unstructured
	for _, o := range c.Objects {
		if o.Desired != nil && syncengine.IsDeletionHook(o.Desired, phase) {
			hooks = append(hooks, o.Desired)
		}
	}
	if len(hooks) == 0 {
		return ctrl.Result{}, true
	}
	// Progress is recorded as the hooks run, so that a restarted
	// controller does not run a finished hook again and users see what
	// the deletion waits for.
	succeeded := map[resource.Key]bool{}
	if d := app.Status.Deletion; d != nil {
		for _, rr := range d.Results {
			if rr.SyncPhase == sollv1.SyncPhase(phase) && rr.HookPhase == sollv1.HookPhaseSucceeded {
				succeeded[resource.Key{Group: rr.Group, Kind: rr.Kind, Namespace: rr.Namespace, Name: rr.Name}] = true
			}
		}
	}
	record := func(res syncengine.Result, msg string) func(*sollv1.ApplicationStatus) {
		return func(s *sollv1.ApplicationStatus) {
			d := deletionStatus(s)
			d.Phase, d.Message, d.Revisions = sollv1.DeletionPhase(phase), msg, c.Revisions()
			if d.PhaseStartedAt == nil {
				now := metav1.Now()
				d.PhaseStartedAt = &now
			}
			d.Results = mergeHookResults(d.Results, sollv1.SyncPhase(phase), syncResult(nil, res).Resources)
		}
	}
	running := fmt.Sprintf("running %d %s hooks", len(hooks), phase)
	err = r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) {
		record(syncengine.Result{}, running)(s)
		setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, sollv1.ReasonDeleting, "being deleted: "+running)
	})
	r.logStatusError(ctx, app, "deletion hooks", err)

	// An attempt is bounded like a sync operation, and so is each wave
	// of it: a backup may well take longer than a wave of a sync.
	limit := operationTimeout(app)
	hctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	engine := &syncengine.Engine{Kube: targetKube(c.Target), Health: c.HealthChecker()}
	out := engine.RunHooks(hctx, c.Objects, phase, syncengine.Options{
		WaveTimeout: limit,
		DoneHooks:   succeeded,
		OnProgress: func(res syncengine.Result, _ bool) {
			r.logStatusError(ctx, app, "deletion hooks", r.patchStatus(ctx, app, record(res, running)))
		},
	})
	if ctx.Err() != nil {
		// The controller is stopping: the next one runs the hooks
		// that did not finish.
		return ctrl.Result{}, false
	}
	if !out.Succeeded {
		return r.deletionHooksFailed(ctx, app, reason, failedEvent, phase, out.Message, record(out, out.Message)), false
	}
	r.event(app, corev1.EventTypeNormal, string(phase)+"HooksSucceeded", "Delete", "%s", out.Message)
	err = r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) {
		record(out, out.Message)(s)
		s.Deletion.Attempts = 0
	})
	r.logStatusError(ctx, app, "deletion hooks", err)
	return ctrl.Result{}, true
}

// deletionHooksFailed records a failed attempt of app's deletion hooks of
// phase (with also, when not nil, the hooks' results), in status and in an
// event, and returns when to try again.
func (r *Reconciler) deletionHooksFailed(ctx context.Context, app *sollv1.Application, reason, event string, phase syncengine.Phase, msg string, also func(*sollv1.ApplicationStatus)) ctrl.Result {
	attempts := int32(1)
	if d := app.Status.Deletion; d != nil {
		attempts = d.Attempts + 1
	}
	delay := deletionRetryDelay(attempts)
	kept := "no object was deleted"
	if phase == syncengine.PhasePostDelete {
		kept = "the objects are deleted, the Application is kept until they succeed"
	}
	full := fmt.Sprintf("%s; %s; attempt %d, retrying in %s: fix the hooks or their sources (a refresh of the Application retries at once), or delete the Application with --cascade=false to skip its hooks and keep what is left of its objects",
		msg, kept, attempts, delay)
	r.event(app, corev1.EventTypeWarning, event, "Delete", "%s", full)
	err := r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) {
		if also != nil {
			also(s)
		}
		d := deletionStatus(s)
		d.Phase, d.Message, d.Attempts = sollv1.DeletionPhase(phase), full, attempts
		if d.PhaseStartedAt == nil {
			now := metav1.Now()
			d.PhaseStartedAt = &now
		}
		setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, reason, full)
	})
	// The event tells the failure too; the hooks are retried either way.
	r.logStatusError(ctx, app, "deletion hooks", err)
	at := time.Now().Add(delay)
	r.apps.update(client.ObjectKeyFromObject(app), func(rec *appRecord) { rec.deletionRetry = at })
	return ctrl.Result{RequeueAfter: delay}
}

// mergeHookResults replaces the results of phase in all with those of
// one attempt (hooks that did not run again keep their last result).
func mergeHookResults(all []sollv1.ResourceResult, phase sollv1.SyncPhase, attempt []sollv1.ResourceResult) []sollv1.ResourceResult {
	out := slices.Clone(all)
	for _, rr := range attempt {
		i := slices.IndexFunc(out, func(o sollv1.ResourceResult) bool {
			return o.SyncPhase == phase && o.Group == rr.Group && o.Kind == rr.Kind && o.Namespace == rr.Namespace && o.Name == rr.Name
		})
		if i >= 0 {
			out[i] = rr
		} else {
			out = append(out, rr)
		}
	}
	return out
}

// deleteObjects deletes app's objects (its inventory) and the objects its
// PreDelete hooks left, and reports done once they are gone, or once
// DeletionTimeout has passed in this phase (the leftovers are named in a
// Warning event).
func (r *Reconciler) deleteObjects(ctx context.Context, app *sollv1.Application) (ctrl.Result, bool, error) {
	var left []string
	type target struct {
		key     resource.Key
		version string
		hook    bool
	}
	var targets []target
	for _, rs := range app.Status.Resources {
		targets = append(targets, target{resource.Key{Group: rs.Group, Kind: rs.Kind, Namespace: rs.Namespace, Name: rs.Name}, rs.Version, false})
	}
	for _, rr := range hookResults(app, sollv1.SyncPhasePreDelete) {
		targets = append(targets, target{resource.Key{Group: rr.Group, Kind: rr.Kind, Namespace: rr.Namespace, Name: rr.Name}, rr.Version, true})
	}
	kc, kerr := r.kubeOf(app)
	for _, t := range targets {
		gvk := kube.KeyGVK(t.key, t.version)
		if kerr != nil {
			left = append(left, fmt.Sprintf("%s (%v)", t.key, kerr))
			continue
		}
		live, err := kc.Get(ctx, gvk, t.key.Namespace, t.key.Name)
		if err != nil {
			left = append(left, fmt.Sprintf("%s (%v)", t.key, err))
			continue
		}
		if live == nil || !ownedBy(live, app, t.hook) || (!t.hook && r.keptOnDelete(app, live)) {
			continue
		}
		left = append(left, t.key.String())
		if live.GetDeletionTimestamp() != nil {
			continue
		}
		if err := kc.Delete(ctx, gvk, t.key.Namespace, t.key.Name, metav1.DeletePropagationForeground, string(live.GetUID())); err != nil {
			return ctrl.Result{}, false, fmt.Errorf("delete %s of application %s/%s: %w", t.key, app.Namespace, app.Name, err)
		}
	}
	if len(left) > 0 && time.Since(phaseStarted(app)) < r.DeletionTimeout {
		msg := fmt.Sprintf("waiting for %d objects to be deleted: %s", len(left), strings.Join(first(left, 5), ", "))
		err := r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) {
			d := deletionStatus(s)
			d.Phase, d.Message = sollv1.DeletionDeleting, msg
			setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, sollv1.ReasonDeleting, "being deleted: "+msg)
		})
		// The deletion goes on whether or not its progress is shown.
		r.logStatusError(ctx, app, "deletion progress", err)
		return ctrl.Result{RequeueAfter: 2 * time.Second}, false, nil
	}
	if len(left) > 0 {
		r.event(app, corev1.EventTypeWarning, "DeletionTimedOut", "Delete",
			"gave up waiting after %s; objects left in the cluster: %s", r.DeletionTimeout, strings.Join(first(left, 20), ", "))
	}
	return ctrl.Result{}, true, nil
}

// hookResults are the results of app's deletion hooks of phase.
func hookResults(app *sollv1.Application, phase sollv1.SyncPhase) []sollv1.ResourceResult {
	var out []sollv1.ResourceResult
	if d := app.Status.Deletion; d != nil {
		for _, rr := range d.Results {
			if rr.SyncPhase == phase && rr.Name != "" {
				out = append(out, rr)
			}
		}
	}
	return out
}

// ownedBy reports whether live is app's to delete: an object it tracks
// (the tracking annotation names app and live itself), or, for a hook's
// object (hook), one whose tracking annotation names app: the hook was
// created under the name live has, which for a generateName hook differs
// from the name the annotation was made with.
func ownedBy(live *unstructured.Unstructured, app *sollv1.Application, hook bool) bool {
	if !hook {
		return resource.ManagedBy(live, app.Namespace, app.Name)
	}
	ns, name, _, ok := resource.ParseTrackingID(live.GetAnnotations()[resource.TrackingAnnotation])
	return ok && ns == app.Namespace && name == app.Name
}

// deleteHookObjects deletes the objects app's deletion hooks of phase
// created, without waiting for them to go: nothing would delete them
// once the Application is gone. A failure is named in a Warning event and
// does not hold the Application.
func (r *Reconciler) deleteHookObjects(ctx context.Context, app *sollv1.Application, phase sollv1.SyncPhase, what string) {
	var failed []string
	kc, kerr := r.kubeOf(app)
	for _, rr := range hookResults(app, phase) {
		k := resource.Key{Group: rr.Group, Kind: rr.Kind, Namespace: rr.Namespace, Name: rr.Name}
		gvk := kube.KeyGVK(k, rr.Version)
		if kerr != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", k, kerr))
			continue
		}
		live, err := kc.Get(ctx, gvk, k.Namespace, k.Name)
		if err == nil && (live == nil || !ownedBy(live, app, true)) {
			continue
		}
		if err == nil {
			err = kc.Delete(ctx, gvk, k.Namespace, k.Name, metav1.DeletePropagationBackground, string(live.GetUID()))
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", k, err))
		}
	}
	if len(failed) > 0 {
		r.event(app, corev1.EventTypeWarning, "HookCleanupFailed", "Delete", "could not delete the objects of the %s hooks, delete them by hand: %s", what, strings.Join(first(failed, 20), ", "))
	}
}

// deletionHooksOf lists the PreDelete and PostDelete hooks among c's
// objects, for status.deletion.hooks: at most maxDeletionHooks, sorted.
func deletionHooksOf(c *appstate.Comparison) []sollv1.DeletionHook {
	var out []sollv1.DeletionHook
	for _, o := range c.Objects {
		if o.Desired == nil {
			continue
		}
		var types []sollv1.HookType
		for _, p := range []syncengine.Phase{syncengine.PhasePreDelete, syncengine.PhasePostDelete} {
			if syncengine.IsDeletionHook(o.Desired, p) {
				types = append(types, sollv1.HookType(p))
			}
		}
		if len(types) == 0 {
			continue
		}
		k := resource.KeyOf(o.Desired)
		out = append(out, sollv1.DeletionHook{Group: k.Group, Kind: k.Kind, Namespace: k.Namespace, Name: k.Name, Types: types})
	}
	slices.SortFunc(out, func(a, b sollv1.DeletionHook) int {
		return resource.Compare(resource.Key{Group: a.Group, Kind: a.Kind, Namespace: a.Namespace, Name: a.Name},
			resource.Key{Group: b.Group, Kind: b.Kind, Namespace: b.Namespace, Name: b.Name})
	})
	if len(out) > maxDeletionHooks {
		out = out[:maxDeletionHooks]
	}
	return out
}

// maxDeletionHooks bounds status.deletion.hooks (its CRD's MaxItems).
const maxDeletionHooks = 200

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}
