package controller_test

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
)

// TestRestoredAppGetsPruneBackAfterFirstComparison: an Application that a
// restore left with automated prune off and the pending annotation gets
// prune back, and loses the annotation, once it has been compared; one
// whose comparison fails keeps both as they are.
func TestRestoredAppGetsPruneBackAfterFirstComparison(t *testing.T) {
	h := newHarness(t)
	restored := func(a *sollv1.Application) {
		a.Annotations = map[string]string{sollv1.RestorePrunePendingAnnotation: "true"}
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{Prune: false}}
	}
	h.createApp(restored)
	h.createAppNamed("broken", "no-such-path", restored)

	app := h.waitFor("prune on again and the annotation gone", 2*time.Minute, func(a *sollv1.Application) bool {
		_, pending := a.Annotations[sollv1.RestorePrunePendingAnnotation]
		return !pending && a.Spec.SyncPolicy.Automated.Prune
	})
	if c := condition(app, sollv1.ConditionCompared); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("prune came back without a successful comparison: %s", describe(app))
	}

	broken := h.waitForApp("broken", "the failed comparison", time.Minute, func(a *sollv1.Application) bool {
		c := condition(a, sollv1.ConditionCompared)
		return c != nil && c.Status == metav1.ConditionFalse
	})
	if _, pending := broken.Annotations[sollv1.RestorePrunePendingAnnotation]; !pending || broken.Spec.SyncPolicy.Automated.Prune {
		t.Errorf("an app that was never compared got prune back: annotations %v, automated %+v", broken.Annotations, broken.Spec.SyncPolicy.Automated)
	}
}
