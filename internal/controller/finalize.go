package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/kube"
	"soll.dev/internal/resource"
)

// DeletionTimeout bounds a cascading deletion: after it, the finalizer is
// removed and the leftovers are named in a Warning event, so deleting an
// Application never hangs forever on a stuck finalizer of one of its
// objects.
const DeletionTimeout = 10 * time.Minute

// finalize deletes the app's resources when the cascade finalizer is set,
// then lets the Application go.
func (r *Reconciler) finalize(ctx context.Context, app *sollv1.Application) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(app, ResourcesFinalizer) {
		return ctrl.Result{}, nil
	}
	var left []string
	for _, rs := range app.Status.Resources {
		k := resource.Key{Group: rs.Group, Kind: rs.Kind, Namespace: rs.Namespace, Name: rs.Name}
		gvk := kube.KeyGVK(k, rs.Version)
		live, err := r.Kube.Get(ctx, gvk, k.Namespace, k.Name)
		if err != nil {
			left = append(left, fmt.Sprintf("%s (%v)", k, err))
			continue
		}
		if live == nil || !resource.ManagedBy(live, app.Namespace, app.Name) {
			continue
		}
		left = append(left, k.String())
		if live.GetDeletionTimestamp() != nil {
			continue
		}
		if err := r.Kube.Delete(ctx, gvk, k.Namespace, k.Name, metav1.DeletePropagationForeground, string(live.GetUID())); err != nil {
			return ctrl.Result{}, fmt.Errorf("delete %s of application %s/%s: %w", k, app.Namespace, app.Name, err)
		}
	}
	if len(left) > 0 && time.Since(app.DeletionTimestamp.Time) < DeletionTimeout {
		_ = r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) {
			setCondition(s, app.Generation, "Ready", metav1.ConditionFalse, "Deleting",
				fmt.Sprintf("waiting for %d objects to be deleted: %s", len(left), strings.Join(first(left, 5), ", ")))
		})
		return ctrl.Result{RequeueAfter: 2 * time.Second}, nil
	}
	if len(left) > 0 {
		r.event(app, corev1.EventTypeWarning, "DeletionTimedOut", "Delete",
			"gave up waiting after %s; objects left in the cluster: %s", DeletionTimeout, strings.Join(first(left, 20), ", "))
	}
	patch := client.MergeFrom(app.DeepCopy())
	controllerutil.RemoveFinalizer(app, ResourcesFinalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.Client.Patch(ctx, app, patch))
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}
