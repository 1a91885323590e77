package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/health"
)

// An Application with spec.dependsOn syncs only once every Application it
// depends on is Synced and Healthy at the revisions its sources resolve to
// now, with no operation asked for or running (Flux's dependsOn): an
// automated sync and a requested one wait, and the DependenciesReady
// condition names what they wait for. A dependency that does not exist,
// or a cycle, is an error on the app (a requested sync is refused), never
// a silent wait. When an Application and Applications that depend on it
// are deleted together, it waits for them to be gone before deleting its
// objects: deletion runs in the reverse order.
//
// Dependants are woken through the cache's index of dependsOn
// (dependsOnIndex) whenever what readiness reads of an Application
// changes, so a waiting app costs nothing until then.

// dependsOnIndex indexes Applications by the "namespace/name" of each
// Application they depend on.
const dependsOnIndex = "spec.dependsOn"

// maxDependencyWalk bounds the Applications a cycle search visits.
const maxDependencyWalk = 10000

// dependencyKey is the key of the Application that d of app names.
func dependencyKey(app *sollv1.Application, d sollv1.ApplicationDependency) types.NamespacedName {
	ns := d.Namespace
	if ns == "" {
		ns = app.Namespace
	}
	return types.NamespacedName{Namespace: ns, Name: d.Name}
}

// dependsOnKeys is the index function of dependsOnIndex.
func dependsOnKeys(o client.Object) []string {
	app, ok := o.(*sollv1.Application)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(app.Spec.DependsOn))
	for _, d := range app.Spec.DependsOn {
		keys = append(keys, dependencyKey(app, d).String())
	}
	return keys
}

// dependencyWait is why an Application may not sync yet because of its
// dependencies.
type dependencyWait struct {
	// reason is sollv1.ReasonDependencyNotReady, ReasonDependencyMissing
	// or ReasonDependencyCycle.
	reason  string
	message string
}

// refuses reports whether a requested sync is refused rather than held:
// waiting would never end.
func (w *dependencyWait) refuses() bool {
	return w.reason != sollv1.ReasonDependencyNotReady
}

// dependencies tells whether app may sync now as far as spec.dependsOn
// goes: nil when it may (or has no dependencies).
func (r *Reconciler) dependencies(ctx context.Context, app *sollv1.Application) *dependencyWait {
	if len(app.Spec.DependsOn) == 0 {
		return nil
	}
	if cycle := r.dependencyCycle(ctx, app); cycle != nil {
		return &dependencyWait{sollv1.ReasonDependencyCycle,
			"spec.dependsOn forms a cycle: " + strings.Join(cycle, " → ") + ": remove one of these dependencies"}
	}
	var waiting []string
	for i, d := range app.Spec.DependsOn {
		key := dependencyKey(app, d)
		var dep sollv1.Application
		if err := r.Client.Get(ctx, key, &dep); apierrors.IsNotFound(err) {
			return &dependencyWait{sollv1.ReasonDependencyMissing,
				fmt.Sprintf("spec.dependsOn[%d]: Application %s does not exist: create it, or remove the dependency", i, key)}
		} else if err != nil {
			waiting = append(waiting, fmt.Sprintf("%s (cannot be read: %v)", key, err))
			continue
		}
		if why := r.notReady(ctx, &dep); why != "" {
			waiting = append(waiting, key.String()+" ("+why+")")
		}
	}
	if len(waiting) == 0 {
		return nil
	}
	return &dependencyWait{sollv1.ReasonDependencyNotReady, "waiting for " + strings.Join(waiting, ", ")}
}

// notReady says why dep is not yet a dependency that is met; "" when it
// is: Synced and Healthy, compared since its last change, at the revisions
// its sources resolve to now, with no operation asked for or running.
func (r *Reconciler) notReady(ctx context.Context, dep *sollv1.Application) string {
	if why := statusNotReady(dep); why != "" {
		return why
	}
	now, err := r.Pipeline.Resolve(ctx, dep)
	if err != nil {
		return "its revision cannot be resolved: " + err.Error()
	}
	synced := dep.Status.Sync.Revisions
	if len(synced) == 0 && dep.Status.Sync.Revision != "" {
		synced = []string{dep.Status.Sync.Revision}
	}
	for i, rev := range now {
		if rev != "" && (i >= len(synced) || synced[i] != rev) {
			return "not yet compared at " + appstate.Short(rev)
		}
	}
	return ""
}

// statusNotReady is the part of notReady that dep's status alone answers.
func statusNotReady(dep *sollv1.Application) string {
	s := &dep.Status
	switch {
	case !dep.DeletionTimestamp.IsZero():
		return "being deleted"
	case dep.Spec.Suspend:
		return "suspended"
	case s.ObservedGeneration != dep.Generation:
		return "not yet compared since its last change"
	case dep.Operation != nil:
		return "sync requested"
	case s.OperationState != nil && (s.OperationState.Phase == sollv1.OperationRunning || s.OperationState.Phase == sollv1.OperationTerminating):
		return "syncing"
	case s.Sync == nil || s.Sync.Status != sollv1.SyncStatusSynced:
		if s.Sync == nil || s.Sync.Status == "" {
			return string(sollv1.SyncStatusUnknown)
		}
		return string(s.Sync.Status)
	case s.Health == nil || s.Health.Status != sollv1.HealthStatusCode(health.Healthy):
		if s.Health == nil {
			return "health Unknown"
		}
		return "health " + string(s.Health.Status)
	}
	return ""
}

// dependencyCycle returns the Applications of a cycle through app
// ("ns/a", "ns/b", "ns/a"), or nil when spec.dependsOn leads back to app
// nowhere.
func (r *Reconciler) dependencyCycle(ctx context.Context, app *sollv1.Application) []string {
	start := client.ObjectKeyFromObject(app)
	visited := map[types.NamespacedName]bool{}
	var path []string
	var walk func(a *sollv1.Application) bool
	walk = func(a *sollv1.Application) bool {
		for _, d := range a.Spec.DependsOn {
			key := dependencyKey(a, d)
			if key == start {
				path = append(path, key.String())
				return true
			}
			if visited[key] || len(visited) >= maxDependencyWalk {
				continue
			}
			visited[key] = true
			var next sollv1.Application
			if err := r.Client.Get(ctx, key, &next); err != nil {
				continue // a missing one is reported as missing
			}
			path = append(path, key.String())
			if walk(&next) {
				return true
			}
			path = path[:len(path)-1]
		}
		return false
	}
	path = append(path, start.String())
	if walk(app) {
		return path
	}
	return nil
}

// dependantApps maps a changed Application to the Applications that
// depend on it and, when it is being deleted or is gone, to those it
// depends on (their deletion waits for it).
func (r *Reconciler) dependantApps(ctx context.Context, obj client.Object) []reconcile.Request {
	app, ok := obj.(*sollv1.Application)
	if !ok {
		return nil
	}
	var out []reconcile.Request
	apps, err := r.dependants(ctx, app)
	if err != nil {
		r.Log.Error("list the applications that depend on one", "app", client.ObjectKeyFromObject(app).String(), "error", err.Error())
		droppedEvents.WithLabelValues("dependency").Inc()
	}
	for i := range apps {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&apps[i])})
	}
	var gone sollv1.Application
	if !app.DeletionTimestamp.IsZero() || apierrors.IsNotFound(r.Client.Get(ctx, client.ObjectKeyFromObject(app), &gone)) {
		for _, d := range app.Spec.DependsOn {
			out = append(out, reconcile.Request{NamespacedName: dependencyKey(app, d)})
		}
	}
	return out
}

// readinessChanged lets through the changes of an Application that its
// dependants (or, when deleted, its dependencies) need to see: creation,
// deletion, and any change of what dependency readiness reads.
func readinessChanged() predicate.Funcs {
	sig := func(o client.Object) string {
		app, ok := o.(*sollv1.Application)
		if !ok {
			return ""
		}
		s := &app.Status
		var revs []string
		phase := ""
		if s.Sync != nil {
			revs = slices.Concat([]string{s.Sync.Revision}, s.Sync.Revisions)
		}
		if s.OperationState != nil {
			phase = string(s.OperationState.Phase)
		}
		return fmt.Sprintf("%s|%v|%v", statusNotReady(app), revs, phase)
	}
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return sig(e.ObjectOld) != sig(e.ObjectNew) || !e.ObjectNew.GetDeletionTimestamp().Equal(e.ObjectOld.GetDeletionTimestamp())
		},
	}
}

// dependantsBeingDeleted lists the Applications that depend on app and
// are being deleted too: app's objects wait for them to go.
func (r *Reconciler) dependantsBeingDeleted(ctx context.Context, app *sollv1.Application) ([]string, error) {
	apps, err := r.dependants(ctx, app)
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range apps {
		if a := &apps[i]; !a.DeletionTimestamp.IsZero() {
			out = append(out, client.ObjectKeyFromObject(a).String())
		}
	}
	slices.Sort(out)
	return out, nil
}

// dependants lists the Applications that depend on app, from the cache's
// index.
func (r *Reconciler) dependants(ctx context.Context, app *sollv1.Application) ([]sollv1.Application, error) {
	var apps sollv1.ApplicationList
	if err := r.Client.List(ctx, &apps, client.MatchingFields{dependsOnIndex: client.ObjectKeyFromObject(app).String()}); err != nil {
		return nil, fmt.Errorf("list the applications that depend on %s: %w", client.ObjectKeyFromObject(app), err)
	}
	return apps.Items, nil
}
