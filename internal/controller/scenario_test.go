package controller_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/controller"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// harness is a running controller, a Git server with one repository, and
// a namespace for Applications.
type harness struct {
	t       *testing.T
	env     *testenv.Env
	git     *gitserver.HTTPServer
	repo    string
	sollNS  string
	destNS  string
	appName string
}

// fixture copies examples/wordpress, renaming the cluster-scoped
// PersistentVolumes so parallel tests and the demo never share them.
func fixture(t *testing.T, prefix string) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("..", "..", "examples", "wordpress")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "wordpress-mysql-pv", prefix+"-mysql-pv")
		s = strings.ReplaceAll(s, "wordpress-html-pv", prefix+"-html-pv")
		if err := os.WriteFile(filepath.Join(dst, e.Name()), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func newHarness(t *testing.T) *harness {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	h := &harness{t: t, env: env, sollNS: testenv.Namespace(t), destNS: testenv.Namespace(t), appName: "wordpress"}
	h.git = gitserver.NewHTTP(t, gitserver.HTTPOptions{Username: "ci", Password: "s3cret-git-password"})
	h.repo = "config"
	h.git.CreateRepo(t, h.repo, "")
	h.git.Commit(t, h.repo, gitserver.DefaultBranch, gitserver.Change{Message: "add wordpress", Files: readTree(t, fixture(t, h.destNS), "wordpress")})

	// Repository credentials live in a Secret in soll's namespace.
	creds := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "git-creds", Namespace: h.sollNS},
		StringData: map[string]string{"username": "ci", "password": "s3cret-git-password"},
	}
	if err := env.Client.Create(context.Background(), creds); err != nil {
		t.Fatal(err)
	}

	mgr, err := controller.NewManager(env.Config, controller.Options{
		Namespace: h.sollNS,
		CacheDir:  t.TempDir(),
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller stopped with an error: %v", err)
		}
	})
	return h
}

// readTree maps the files of dir to repository paths under prefix.
func readTree(t *testing.T, dir, prefix string) map[string]string {
	t.Helper()
	files := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[prefix+"/"+e.Name()] = string(b)
	}
	return files
}

func (h *harness) createApp(mutate func(*sollv1.Application)) {
	app := &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: h.appName, Namespace: h.sollNS, Finalizers: []string{controller.ResourcesFinalizer}},
		Spec: sollv1.ApplicationSpec{
			Source: &sollv1.ApplicationSource{
				RepoURL: h.git.HTTPURL(h.repo), TargetRevision: "main", Path: "wordpress",
				CredentialsRef: &sollv1.LocalSecretReference{Name: "git-creds"},
			},
			Destination: sollv1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: h.destNS},
		},
	}
	if mutate != nil {
		mutate(app)
	}
	if err := h.env.Client.Create(context.Background(), app); err != nil {
		h.t.Fatalf("create application: %v", err)
	}
}

func (h *harness) app() *sollv1.Application {
	var app sollv1.Application
	if err := h.env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.sollNS, Name: h.appName}, &app); err != nil {
		h.t.Fatalf("get application: %v", err)
	}
	return &app
}

// waitFor polls the app until cond holds, failing with the last status.
func (h *harness) waitFor(what string, timeout time.Duration, cond func(*sollv1.Application) bool) *sollv1.Application {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last *sollv1.Application
	err := testenv.Eventually(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		var app sollv1.Application
		if err := h.env.Client.Get(ctx, client.ObjectKey{Namespace: h.sollNS, Name: h.appName}, &app); err != nil {
			return false, err
		}
		last = &app
		return cond(&app), nil
	})
	if err != nil {
		h.t.Fatalf("waiting for %s: %v\nlast status: %s", what, err, describe(last))
	}
	return last
}

func describe(app *sollv1.Application) string {
	if app == nil {
		return "(none)"
	}
	var b strings.Builder
	s := app.Status
	if s.Sync != nil {
		fmt.Fprintf(&b, "sync=%s rev=%s ", s.Sync.Status, s.Sync.Revision)
	}
	if s.Health != nil {
		fmt.Fprintf(&b, "health=%s (%s) ", s.Health.Status, s.Health.Message)
	}
	if s.OperationState != nil {
		fmt.Fprintf(&b, "op=%s (%s) ", s.OperationState.Phase, s.OperationState.Message)
	}
	for _, c := range s.Conditions {
		fmt.Fprintf(&b, "\n  condition %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
	for _, r := range s.Resources {
		h := ""
		if r.Health != nil {
			h = string(r.Health.Status) + " " + r.Health.Message
		}
		fmt.Fprintf(&b, "\n  %s/%s %s/%s: %s %s", r.Group, r.Kind, r.Namespace, r.Name, r.Status, h)
	}
	return b.String()
}

func syncedHealthy(app *sollv1.Application) bool {
	return app.Status.Sync != nil && app.Status.Sync.Status == sollv1.SyncStatusSynced &&
		app.Status.Health != nil && app.Status.Health.Status == sollv1.HealthHealthy
}

func (h *harness) requestSync() {
	h.t.Helper()
	app := h.app()
	patch := client.MergeFrom(app.DeepCopy())
	app.Operation = &sollv1.Operation{Sync: &sollv1.SyncOperation{Prune: true}, InitiatedBy: &sollv1.OperationInitiator{Username: "alice"}}
	if err := h.env.Client.Patch(context.Background(), app, patch); err != nil {
		h.t.Fatal(err)
	}
}

func resourceStatus(app *sollv1.Application, kind, name string) *sollv1.ResourceStatus {
	for i, r := range app.Status.Resources {
		if r.Kind == kind && r.Name == name {
			return &app.Status.Resources[i]
		}
	}
	return nil
}

func (h *harness) deleteDeployment(name string) {
	h.t.Helper()
	err := h.env.Kube.AppsV1().Deployments(h.destNS).Delete(context.Background(), name, metav1.DeleteOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
}

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
		Files:   map[string]string{"wordpress/wordpress.yaml": strings.Replace(readFile(t, fixture(t, h.destNS), "wordpress.yaml"), "wordpress:6.2.1-apache", "wordpress:6.3-apache", 1)},
	})
	h.setAnnotation(controller.RefreshAnnotation, "hard")
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
	app = h.waitFor("rolled back", 2*time.Minute, func(a *sollv1.Application) bool {
		return syncedHealthy(a) && a.Status.Sync.Revision == firstRev && a.Spec.Pin != nil
	})
	h.setAnnotation(controller.RefreshAnnotation, "hard")
	h.waitFor("refresh after rollback", time.Minute, func(a *sollv1.Application) bool {
		_, pending := a.Annotations[controller.RefreshAnnotation]
		return !pending && a.Status.ReconciledAt != nil && a.Status.ReconciledAt.After(app.Status.ReconciledAt.Time)
	})
	if img := h.deploymentImage("wordpress"); img != "wordpress:6.2.1-apache" {
		t.Fatalf("auto-sync undid the rollback: image %s", img)
	}

	// Deleting the app with the cascade finalizer removes its resources.
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
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (h *harness) setAnnotation(k, v string) {
	h.t.Helper()
	app := h.app()
	patch := client.MergeFrom(app.DeepCopy())
	if app.Annotations == nil {
		app.Annotations = map[string]string{}
	}
	app.Annotations[k] = v
	if err := h.env.Client.Patch(context.Background(), app, patch); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) deploymentImage(name string) string {
	h.t.Helper()
	d, err := h.env.Kube.AppsV1().Deployments(h.destNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Image
}
