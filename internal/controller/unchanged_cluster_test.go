package controller_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
)

// countLines counts the lines of log holding every one of parts.
func countLines(log *testenv.SyncBuffer, parts ...string) int {
	n := 0
	for _, line := range strings.Split(log.String(), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// TestIdleComparisonStandsUntilAnInputChanges: an idle app's periodic
// comparisons are skipped while nothing they depend on changes, and a
// change is still seen, whether a watch reports it (the cluster, the
// settings) or only the next refresh does (Git).
func TestIdleComparisonStandsUntilAnInputChanges(t *testing.T) {
	logs := &testenv.SyncBuffer{}
	h := newHarnessWith(t, harnessOptions{
		files: map[string]string{
			"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: idle-demo}\ndata: {mode: broken}\n",
		},
		log:             slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		refreshInterval: 300 * time.Millisecond,
	})
	h.createAppNamed("idle", "app", func(a *sollv1.Application) {
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{Prune: true}}
	})
	synced := h.waitForApp("idle", "Synced and Healthy", time.Minute, syncedHealthy)
	skipped := func() int { return countLines(logs, "comparison unchanged", "app="+h.sollNS+"/idle") }

	// Idle: the refreshes come, and their comparisons are skipped.
	testenv.WaitFor(t, "three skipped comparisons", 30*time.Second, func() bool { return skipped() >= 3 })
	if app := h.appNamed("idle"); app.ResourceVersion != synced.ResourceVersion {
		t.Errorf("an idle app was written: resourceVersion %s -> %s (%s)", synced.ResourceVersion, app.ResourceVersion, describe(app))
	}

	// A change of the settings: a settings ConfigMap whose Lua health
	// check finds the ConfigMap broken. Its watch wakes the app, whose
	// comparison is skipped only if the fingerprint missed the settings.
	// No refresh request.
	settings := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: sollv1.SettingsConfigMap, Namespace: h.sollNS},
		Data:       map[string]string{"resource.customizations.health.ConfigMap": brokenModeHealthCheck},
	}
	if err := h.env.Client.Create(context.Background(), settings); err != nil {
		t.Fatal(err)
	}
	h.waitForApp("idle", "Degraded by the new settings", 30*time.Second, func(a *sollv1.Application) bool {
		return a.Status.Health != nil && a.Status.Health.Status == sollv1.HealthDegraded
	})
	if err := h.env.Client.Delete(context.Background(), settings); err != nil {
		t.Fatal(err)
	}
	h.waitForApp("idle", "Healthy again without the settings", 30*time.Second, syncedHealthy)

	// A change the watch reports: the managed ConfigMap edited in the
	// cluster is drift, and auto-sync (no self-heal) leaves it OutOfSync.
	before := skipped()
	testenv.WaitFor(t, "idle again", 30*time.Second, func() bool { return skipped() >= before+2 })
	live := h.configMap("idle-demo")
	patch := client.MergeFrom(live.DeepCopy())
	live.Data["mode"] = "edited"
	if err := h.env.Client.Patch(context.Background(), live, patch); err != nil {
		t.Fatal(err)
	}
	h.waitForApp("idle", "OutOfSync after an edit in the cluster", 30*time.Second, func(a *sollv1.Application) bool {
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusOutOfSync
	})
}
