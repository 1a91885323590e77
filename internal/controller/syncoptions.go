package controller

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/resource"
	syncengine "soll.dev/internal/sync"
)

// The per-object sync options the controller itself reads (the sync
// engine reads the others), and its report of those it ignores.

// keptOnDelete reports whether live, an object of app being deleted with
// its resources, stays in the cluster because its sync options say so:
// Delete=false keeps it; Delete=confirm keeps it too, since soll has no
// confirmation to wait for, and deleting an Application must not hang on
// one: the Warning event asks for a person to decide. Kept objects keep
// soll's tracking annotation, so an Application of the same name created
// again manages them again.
func (r *Reconciler) keptOnDelete(app *sollv1.Application, live *unstructured.Unstructured) bool {
	switch v, _ := syncengine.ObjectSyncOption(live, "Delete"); v {
	case "false":
		r.event(app, corev1.EventTypeNormal, "ResourceKept", "Delete",
			"%s is left in the cluster: its sync option Delete=false keeps it when the application is deleted", resource.KeyOf(live))
		return true
	case "confirm":
		r.event(app, corev1.EventTypeWarning, "ResourceKept", "Delete",
			"%s is left in the cluster: its sync option Delete=confirm asks for a confirmation, which soll does not wait for: delete it by hand if it is no longer needed", resource.KeyOf(live))
		return true
	}
	return false
}

// maxSyncOptionProblems bounds the problems the condition lists.
const maxSyncOptionProblems = 20

// syncOptionProblems is the message of the condition UnknownSyncOption:
// the sync options of c's objects that soll ignores; "" when none.
func syncOptionProblems(c *appstate.Comparison) string {
	return strings.Join(first(c.SyncOptionProblems, maxSyncOptionProblems), "; ")
}

// setSyncOptionProblems records in s the sync options of c's objects that
// soll ignores, in the condition UnknownSyncOption: the app is compared
// and synced all the same, but a typo must not go unnoticed.
func setSyncOptionProblems(s *sollv1.ApplicationStatus, gen int64, c *appstate.Comparison) {
	if msg := syncOptionProblems(c); msg != "" {
		setCondition(s, gen, sollv1.ConditionUnknownSyncOption, metav1.ConditionTrue, sollv1.ReasonSyncOptionIgnored, msg)
	} else {
		meta.RemoveStatusCondition(&s.Conditions, sollv1.ConditionUnknownSyncOption)
	}
}

// reportSyncOptionProblems tells of the sync options of c's objects that
// soll ignores in a Warning event, when app's status does not show them
// yet.
func (r *Reconciler) reportSyncOptionProblems(app *sollv1.Application, c *appstate.Comparison) {
	msg := syncOptionProblems(c)
	if msg == "" {
		return
	}
	if old := meta.FindStatusCondition(app.Status.Conditions, sollv1.ConditionUnknownSyncOption); old == nil || old.Message != msg {
		r.event(app, corev1.EventTypeWarning, "UnknownSyncOption", "Compare", "%s", msg)
	}
}
