package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// TestReferenceScenario is the product's reference scenario end to end
// against a real cluster and a real Git server with authentication:
// OutOfSync → Sync → Synced/Healthy → delete the Deployment →
// OutOfSync/Missing → Sync restores it → with auto-sync and self-heal a
// deleted Deployment comes back by itself → a new commit is deployed
// automatically → rollback pins the old revision → deleting the app with
// the cascade finalizer removes its resources.
func TestReferenceScenario(t *testing.T) {
	h := newHarness(t)
	h.createApp(nil)

	app := h.waitFor("OutOfSync with resources Missing", time.Minute, func(a *sollv1.Application) bool {
		r := resourceStatus(a, "Deployment", "wordpress")
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusOutOfSync &&
			r != nil && r.Health != nil && r.Health.Status == sollv1.HealthMissing
	})
	firstRev := app.Status.Sync.Revision
	if len(app.Status.Resources) != 9 {
		t.Errorf("want 9 resources, got %d:\n%s", len(app.Status.Resources), describe(app))
	}
	if len(app.Status.SourceRevisions) != 1 || app.Status.SourceRevisions[0].Message != "add wordpress" {
		t.Errorf("source revision metadata: %+v", app.Status.SourceRevisions)
	}

	h.requestSync()
	app = h.waitFor("Synced and Healthy after sync", 2*time.Minute, syncedHealthy)
	if st := app.Status.OperationState; st == nil || st.Phase != sollv1.OperationSucceeded || len(st.SyncResult.Resources) != 9 {
		t.Fatalf("operation state after sync: %s", describe(app))
	}
	if len(app.Status.History) != 1 || app.Status.History[0].InitiatedBy.Username != "alice" {
		t.Errorf("history after first sync: %+v", app.Status.History)
	} else if c := app.Status.History[0].Commits; len(c) != 1 || c[0].Revision != firstRev || c[0].Message != "add wordpress" || c[0].Author == "" {
		t.Errorf("the history entry's commits: %+v, want %s \"add wordpress\" with its author", c, firstRev)
	}

	// Someone deletes the Deployment: OutOfSync, and the resource Missing.
	h.deleteDeployment("wordpress")
	h.waitFor("OutOfSync/Missing after deletion", time.Minute, func(a *sollv1.Application) bool {
		r := resourceStatus(a, "Deployment", "wordpress")
		return a.Status.Sync.Status == sollv1.SyncStatusOutOfSync && r != nil && r.Health.Status == sollv1.HealthMissing
	})
	h.requestSync()
	h.waitFor("restored by sync", 2*time.Minute, syncedHealthy)

	// Auto-sync with self-heal: deleting the Deployment again, soll
	// recreates it by itself.
	app = h.app()
	patch := client.MergeFrom(app.DeepCopy())
	app.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{Prune: true, SelfHeal: true}}
	if err := h.env.Client.Patch(context.Background(), app, patch); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	h.deleteDeployment("wordpress")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := testenv.Eventually(ctx, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		d, err := h.env.Kube.AppsV1().Deployments(h.destNS).Get(ctx, "wordpress", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil && d.DeletionTimestamp == nil, err
	})
	if err != nil {
		t.Fatalf("self-heal did not recreate the deployment: %v\n%s", err, describe(h.app()))
	}
	t.Logf("self-heal recreated the deployment %s after its deletion", time.Since(deleted).Round(time.Millisecond))
	h.waitFor("healthy after self-heal", 2*time.Minute, syncedHealthy)

	// A new commit is deployed automatically.
	newRev := h.git.Commit(t, h.repo, gitserver.DefaultBranch, gitserver.Change{
		Message: "wordpress 6.3",
		Files:   map[string]string{"wordpress/wordpress.yaml": strings.Replace(testenv.WordPress(t, h.destNS)["wordpress/wordpress.yaml"], "wordpress:6.2.1-apache", "wordpress:6.3-apache", 1)},
	})
	h.setAnnotation(sollv1.RefreshAnnotation, "hard")
	h.waitFor("new commit deployed", 2*time.Minute, func(a *sollv1.Application) bool {
		return syncedHealthy(a) && a.Status.Sync.Revision == newRev
	})
	if img := h.deploymentImage("wordpress"); img != "wordpress:6.3-apache" {
		t.Fatalf("after auto-sync the image is %s", img)
	}

	// Rollback to the first deployment pins its revision; auto-sync
	// respects the pin.
	app = h.app()
	patch = client.MergeFrom(app.DeepCopy())
	app.Operation = &sollv1.Operation{Rollback: &sollv1.RollbackOperation{ID: app.Status.History[0].ID}, InitiatedBy: &sollv1.OperationInitiator{Username: "alice"}}
	if err := h.env.Client.Patch(context.Background(), app, patch); err != nil {
		t.Fatal(err)
	}
	h.waitFor("rolled back", 2*time.Minute, func(a *sollv1.Application) bool {
		return syncedHealthy(a) && a.Status.Sync.Revision == firstRev && a.Spec.Pin != nil
	})
	// A hard refresh (new commit visible again) must not auto-sync away
	// from the pin. status.reconciledAt has one-second resolution, so it
	// cannot tell this reconcile from the last one: settle waits for the
	// refresh's reconcile to end instead.
	h.settle(h.appName, "hard")
	if img := h.deploymentImage("wordpress"); img != "wordpress:6.2.1-apache" {
		t.Fatalf("auto-sync undid the rollback: image %s", img)
	}

	// Deleting the app with the cascade finalizer removes its resources,
	// and what the controller remembered of it.
	key := client.ObjectKey{Namespace: h.sollNS, Name: h.appName}
	if !h.mgr.Remembers(key) {
		t.Fatal("the controller holds no record of a reconciled app")
	}
	if err := h.env.Client.Delete(context.Background(), h.app()); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel2()
	err = testenv.Eventually(ctx2, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		var a sollv1.Application
		err := h.env.Client.Get(ctx, client.ObjectKey{Namespace: h.sollNS, Name: h.appName}, &a)
		if !apierrors.IsNotFound(err) {
			return false, err
		}
		deps, err := h.env.Kube.AppsV1().Deployments(h.destNS).List(ctx, metav1.ListOptions{})
		return err == nil && len(deps.Items) == 0, err
	})
	if err != nil {
		t.Fatalf("cascade deletion: %v", err)
	}
	err = testenv.Eventually(ctx2, 100*time.Millisecond, func(context.Context) (bool, error) { return !h.mgr.Remembers(key), nil })
	if err != nil {
		t.Fatalf("the controller still holds the record of the deleted app: %v", err)
	}
}
