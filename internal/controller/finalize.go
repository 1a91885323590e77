package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/kube"
	"soll.dev/internal/resource"
	syncengine "soll.dev/internal/sync"
)

// DeletionTimeout bounds a cascading deletion: after it, the finalizer is
// removed and the leftovers are named in a Warning event, so deleting an
// Application never hangs forever on a stuck finalizer of one of its
// objects.
const DeletionTimeout = 10 * time.Minute

// finalize deletes the app's resources when the cascade finalizer is set,
// then lets the Application go.
func (r *Reconciler) finalize(ctx context.Context, app *sollv1.Application) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(app, sollv1.ResourcesFinalizer) {
		return ctrl.Result{}, nil
	}
	if done, err := r.preDeleteHooks(ctx, app); err != nil || !done {
		return ctrl.Result{RequeueAfter: 5 * time.Second}, err
	}
	var left []string
	for _, rs := range app.Status.Resources {
		k := resource.Key{Group: rs.Group, Kind: rs.Kind, Namespace: rs.Namespace, Name: rs.Name}
		gvk := kube.KeyGVK(k, rs.Version)
		live, err := r.Pipeline.Kube.Get(ctx, gvk, k.Namespace, k.Name)
		if err != nil {
			left = append(left, fmt.Sprintf("%s (%v)", k, err))
			continue
		}
		if live == nil || !resource.ManagedBy(live, app.Namespace, app.Name) || r.keptOnDelete(app, live) {
			continue
		}
		left = append(left, k.String())
		if live.GetDeletionTimestamp() != nil {
			continue
		}
		if err := r.Pipeline.Kube.Delete(ctx, gvk, k.Namespace, k.Name, metav1.DeletePropagationForeground, string(live.GetUID())); err != nil {
			return ctrl.Result{}, fmt.Errorf("delete %s of application %s/%s: %w", k, app.Namespace, app.Name, err)
		}
	}
	if len(left) > 0 && time.Since(app.DeletionTimestamp.Time) < DeletionTimeout {
		err := r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) {
			setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, "Deleting",
				fmt.Sprintf("waiting for %d objects to be deleted: %s", len(left), strings.Join(first(left, 5), ", ")))
		})
		// The deletion goes on whether or not its progress is shown.
		r.logStatusError(app, "deletion progress", err)
		return ctrl.Result{RequeueAfter: 2 * time.Second}, nil
	}
	if len(left) > 0 {
		r.event(app, corev1.EventTypeWarning, "DeletionTimedOut", "Delete",
			"gave up waiting after %s; objects left in the cluster: %s", DeletionTimeout, strings.Join(first(left, 20), ", "))
	}
	patch := client.MergeFrom(app.DeepCopy())
	controllerutil.RemoveFinalizer(app, sollv1.ResourcesFinalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.patchApp(ctx, app, patch))
}

// preDeleteHooks runs the Helm pre-delete hooks of the deployed revisions
// before the resources are deleted, once. It reports done when there are
// none, when they succeeded, or when DeletionTimeout passed (a hook that
// keeps failing must not keep the Application forever; the failure stays
// in an event).
func (r *Reconciler) preDeleteHooks(ctx context.Context, app *sollv1.Application) (bool, error) {
	if meta.IsStatusConditionTrue(app.Status.Conditions, sollv1.ConditionPreDeleteHooksDone) || len(app.Status.History) == 0 {
		return true, nil
	}
	expired := time.Since(app.DeletionTimestamp.Time) >= DeletionTimeout
	c, err := r.Pipeline.Compare(ctx, app, app.Status.History[len(app.Status.History)-1].Revisions)
	if err != nil {
		if expired {
			return true, nil
		}
		r.event(app, corev1.EventTypeWarning, "PreDeleteHooksFailed", "Delete", "render the pre-delete hooks: %v", err)
		return false, nil
	}
	if len(c.PreDelete) == 0 {
		return true, nil
	}
	objs := make([]syncengine.Object, len(c.PreDelete))
	for i, h := range c.PreDelete {
		objs[i] = syncengine.Object{Desired: h}
	}
	hctx, cancel := context.WithTimeout(ctx, DeletionTimeout)
	defer cancel()
	engine := &syncengine.Engine{Kube: liveKube{r.Pipeline.Kube, r.live}, Health: c.HealthChecker()}
	res := engine.Sync(hctx, objs, syncengine.Options{})
	if !res.Succeeded {
		r.event(app, corev1.EventTypeWarning, "PreDeleteHooksFailed", "Delete", "pre-delete hooks failed: %s", res.Message)
		if !expired {
			err := r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) {
				setCondition(s, app.Generation, sollv1.ConditionReady, metav1.ConditionFalse, "PreDeleteHooksFailed", "pre-delete hooks failed, retrying: "+res.Message)
			})
			// The event above tells the failure too; the hooks are
			// retried either way.
			r.logStatusError(app, "pre-delete hooks", err)
			return false, nil
		}
		return true, nil
	}
	r.event(app, corev1.EventTypeNormal, "PreDeleteHooksSucceeded", "Delete", "%d pre-delete hooks succeeded", len(objs))
	return true, r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) {
		setCondition(s, app.Generation, sollv1.ConditionPreDeleteHooksDone, metav1.ConditionTrue, "Succeeded", fmt.Sprintf("%d pre-delete hooks succeeded", len(objs)))
	})
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}
