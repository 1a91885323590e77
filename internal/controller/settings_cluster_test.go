package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
)

// brokenModeHealthCheck is a Lua health check of ConfigMaps: Degraded,
// "mode is broken", when data.mode is "broken", else Healthy.
const brokenModeHealthCheck = `local hs = {}
if obj.data ~= nil and obj.data.mode == "broken" then
  hs.status = "Degraded"
  hs.message = "mode is broken"
  return hs
end
hs.status = "Healthy"
return hs`

// TestSettingsConfigMap shows cluster-wide customizations from the
// soll-config ConfigMap take effect without a restart: a Lua health check
// for ConfigMaps, and a global ignore rule.
func TestSettingsConfigMap(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings-demo}\ndata: {mode: broken, note: from-git}\n",
	}})
	h.createAppNamed("settings", "app", func(a *sollv1.Application) {
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{Prune: true}}
	})
	h.waitForApp("settings", "Synced and Healthy without customizations", time.Minute, syncedHealthy)

	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: sollv1.SettingsConfigMap, Namespace: h.sollNS},
		Data: map[string]string{
			"resource.customizations.health.ConfigMap":      brokenModeHealthCheck,
			"resource.customizations.ignoreDifferences.all": "jsonPointers: [/data/note]",
		},
	}
	if err := h.env.Client.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	h.setAnnotationOf("settings", sollv1.RefreshAnnotation, "normal")
	h.waitForApp("settings", "Degraded by the Lua check", time.Minute, func(a *sollv1.Application) bool {
		return a.Status.Health != nil && a.Status.Health.Status == sollv1.HealthDegraded && a.Status.Health.Message != ""
	})

	// The ignore rule: a change of data.note in the cluster is not drift.
	live := h.configMap("settings-demo")
	patch := client.MergeFrom(live.DeepCopy())
	live.Data["note"] = "edited-in-cluster"
	if err := h.env.Client.Patch(context.Background(), live, patch); err != nil {
		t.Fatal(err)
	}
	h.settle("settings", "normal")
	app := h.appNamed("settings")
	if app.Status.Sync == nil || app.Status.Sync.Status != sollv1.SyncStatusSynced {
		t.Fatalf("ignored field counted as drift: %s", describe(app))
	}

	// A broken key stops comparisons with a condition naming it.
	cm.Data["resource.customizations.health.apps_Deployment"] = "not lua ("
	if err := h.env.Client.Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	h.setAnnotationOf("settings", sollv1.RefreshAnnotation, "normal")
	h.waitForApp("settings", "InvalidSettings condition", time.Minute, func(a *sollv1.Application) bool {
		c := comparisonFailure(a)
		return c != nil && c.Reason == "InvalidSettings" && strings.Contains(c.Message, "resource.customizations.health.apps_Deployment")
	})
}
