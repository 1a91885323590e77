package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
)

// sollCLI runs the soll command line against env's cluster in namespace ns.
func sollCLI(t *testing.T, env *testenv.Env, ns string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	args = append(args, "--kubeconfig", env.KubeconfigPath, "-n", ns)
	err := Run(ctx, args, &out, &errOut)
	t.Logf("soll %s\n%s%s", strings.Join(args[:len(args)-4], " "), out.String(), errOut.String())
	return out.String(), err
}

func mustSoll(t *testing.T, env *testenv.Env, ns string, args ...string) string {
	t.Helper()
	out, err := sollCLI(t, env, ns, args...)
	if err != nil {
		t.Fatalf("soll %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func wantError(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), substr) {
		t.Fatalf("got error %v, want one containing %q", err, substr)
	}
}

func getApp(t *testing.T, env *testenv.Env, ns, name string) *sollv1.Application {
	t.Helper()
	app := &sollv1.Application{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, app); err != nil {
		t.Fatalf("get application %s: %v", name, err)
	}
	return app
}

func TestAppCommandsAgainstCluster(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := env.Namespace(t)
	t.Setenv("USER", "tester")

	out := mustSoll(t, env, ns, "app", "create", "guestbook", "--repo", "https://git.example.com/apps.git", "--path", "guestbook",
		"--dest-namespace", "guestbook", "--auto-sync", "--create-namespace")
	if !strings.Contains(out, "application guestbook created in namespace "+ns) {
		t.Errorf("create printed %q", out)
	}
	app := getApp(t, env, ns, "guestbook")
	if app.Spec.Source.RepoURL != "https://git.example.com/apps.git" || app.Spec.Destination.Server != inClusterServer ||
		app.Spec.SyncPolicy.Automated == nil || !app.Spec.SyncPolicy.SyncOptions.CreateNamespace ||
		!slices.Contains(app.Finalizers, sollv1.ResourcesFinalizer) {
		t.Errorf("created application is not what the flags say: %+v", app)
	}

	t.Run("create errors", func(t *testing.T) {
		_, err := sollCLI(t, env, ns, "app", "create", "guestbook", "--repo", "r", "--path", ".")
		wantError(t, err, "application guestbook already exists in namespace "+ns)
		_, err = sollCLI(t, env, ns, "app", "create", "bad", "--repo", "https://git.example.com/a.git", "--path", "/abs")
		wantError(t, err, "the API server rejected it:\n  spec.source.path: ")
		wantError(t, err, "path must be relative to the repository root")
	})

	t.Run("list and get", func(t *testing.T) {
		out := mustSoll(t, env, ns, "app", "list")
		want := "NAME        PROJECT   SYNC   HEALTH   REVISION   OPERATION   DESTINATION\n" +
			"guestbook   default   -      -        -          -           guestbook\n"
		if diff := cmp.Diff(want, out); diff != "" {
			t.Errorf("app list (-want +got):\n%s", diff)
		}
		var list sollv1.ApplicationList
		if err := json.Unmarshal([]byte(mustSoll(t, env, ns, "app", "list", "-o", "json")), &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].Name != "guestbook" || list.Items[0].Kind != "Application" {
			t.Errorf("app list -o json: %+v", list)
		}
		out = mustSoll(t, env, ns, "app", "get", "guestbook")
		for _, want := range []string{"Name:             " + ns + "/guestbook", "  Path:           guestbook", "Sync Policy:      automated, creates the namespace"} {
			if !strings.Contains(out, want) {
				t.Errorf("app get lacks %q", want)
			}
		}
		_, err := sollCLI(t, env, ns, "app", "get", "nope")
		wantError(t, err, fmt.Sprintf("application nope not found in namespace %s: list apps with soll app list -n %s", ns, ns))
	})

	t.Run("sync sets the operation", func(t *testing.T) {
		mustSoll(t, env, ns, "app", "sync", "guestbook", "--prune", "--revision", "abc123",
			"--resource", "apps:Deployment:web", "--resource", ":Service:guestbook/web")
		want := &sollv1.Operation{
			Sync: &sollv1.SyncOperation{Revision: "abc123", Prune: true, Resources: []sollv1.SyncOperationResource{
				{Group: "apps", Kind: "Deployment", Name: "web"}, {Kind: "Service", Namespace: "guestbook", Name: "web"},
			}},
			InitiatedBy: &sollv1.OperationInitiator{Username: "tester"},
		}
		if diff := cmp.Diff(want, getApp(t, env, ns, "guestbook").Operation); diff != "" {
			t.Errorf(".operation (-want +got):\n%s", diff)
		}
		_, err := sollCLI(t, env, ns, "app", "sync", "guestbook")
		wantError(t, err, "already has a requested Sync to abc123 (prune, 2 resources) by tester that has not started yet")
		if out := mustSoll(t, env, ns, "app", "list"); !strings.Contains(out, "Requested") {
			t.Errorf("app list does not show the requested operation:\n%s", out)
		}
	})

	t.Run("refresh and set", func(t *testing.T) {
		mustSoll(t, env, ns, "app", "refresh", "guestbook", "--hard")
		if got := getApp(t, env, ns, "guestbook").Annotations[sollv1.RefreshAnnotation]; got != "hard" {
			t.Errorf("refresh annotation = %q, want hard", got)
		}
		mustSoll(t, env, ns, "app", "set", "guestbook", "--self-heal", "--revision", "v2")
		app := getApp(t, env, ns, "guestbook")
		if a := app.Spec.SyncPolicy.Automated; !a.SelfHeal || a.Enabled == nil || !*a.Enabled || app.Spec.Source.TargetRevision != "v2" {
			t.Errorf("after set: automated %+v, revision %q", a, app.Spec.Source.TargetRevision)
		}
		mustSoll(t, env, ns, "app", "set", "guestbook", "--auto-sync=false")
		if a := getApp(t, env, ns, "guestbook").Spec.SyncPolicy.Automated; *a.Enabled || !a.SelfHeal {
			t.Errorf("after --auto-sync=false: automated %+v, want disabled with self-heal kept", a)
		}
	})

	t.Run("delete without cascade", func(t *testing.T) {
		mustSoll(t, env, ns, "app", "delete", "guestbook", "--cascade=false")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := testenv.Eventually(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
			err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "guestbook"}, &sollv1.Application{})
			return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
		})
		if err != nil {
			t.Fatalf("application guestbook still exists (the finalizer was not removed?): %v", err)
		}
	})
}

// TestAppStatusCommandsAgainstCluster plays the controller's part by
// writing status, and checks the commands that read or change it.
func TestAppStatusCommandsAgainstCluster(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	mustSoll(t, env, ns, "app", "create", "web", "--repo", "https://git.example.com/apps.git", "--path", "web", "--cascade=false")

	app := getApp(t, env, ns, "web")
	_, err := sollCLI(t, env, ns, "app", "wait", "web", "--timeout", "1s")
	wantError(t, err, "timed out after 1s waiting for application web to be Synced and Healthy; last status: sync -, health -, operation -")

	deployed := metav1.NewTime(time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC))
	app.Status = sollv1.ApplicationStatus{
		ObservedGeneration: app.Generation,
		Sync:               &sollv1.SyncStatus{Status: sollv1.SyncStatusSynced, Revision: shaA},
		Health:             &sollv1.HealthStatus{Status: sollv1.HealthHealthy},
		History: []sollv1.RevisionHistory{{ID: 1, Revisions: []string{shaA}, DeployedAt: deployed,
			InitiatedBy: &sollv1.OperationInitiator{Username: "alice"}}},
		Resources: []sollv1.ResourceStatus{{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "web",
			Status: sollv1.SyncStatusSynced, Health: &sollv1.HealthStatus{Status: sollv1.HealthHealthy}}},
	}
	if err := env.Client.Status().Update(ctx, app); err != nil {
		t.Fatal(err)
	}
	if out := mustSoll(t, env, ns, "app", "wait", "web", "--timeout", "10s"); !strings.Contains(out, "web: sync Synced, health Healthy, operation -") {
		t.Errorf("app wait printed %q", out)
	}
	want := "ID   REVISION   DEPLOYED AT            INITIATED BY\n1    1a2b3c4d   2026-02-01T08:00:00Z   alice\n"
	if diff := cmp.Diff(want, mustSoll(t, env, ns, "app", "history", "web")); diff != "" {
		t.Errorf("app history (-want +got):\n%s", diff)
	}
	want = "GROUP/KIND        NAMESPACE   NAME   STATUS   HEALTH\napps/Deployment   web         web    Synced   Healthy\n"
	if diff := cmp.Diff(want, mustSoll(t, env, ns, "app", "resources", "web")); diff != "" {
		t.Errorf("app resources (-want +got):\n%s", diff)
	}

	_, err = sollCLI(t, env, ns, "app", "rollback", "web", "9")
	wantError(t, err, "application web has no history entry 9")
	mustSoll(t, env, ns, "app", "rollback", "web", "1")
	if op := getApp(t, env, ns, "web").Operation; op == nil || op.Rollback == nil || op.Rollback.ID != 1 {
		t.Errorf("after rollback: operation %+v, want a rollback to 1", op)
	}

	// The requested rollback has not started: terminate-op withdraws it.
	if out := mustSoll(t, env, ns, "app", "terminate-op", "web"); !strings.Contains(out, "requested operation of application web withdrawn") {
		t.Errorf("terminate-op of a requested operation printed %q", out)
	}
	if op := getApp(t, env, ns, "web").Operation; op != nil {
		t.Errorf("after terminate-op: operation %+v still requested", op)
	}
	_, err = sollCLI(t, env, ns, "app", "terminate-op", "web")
	wantError(t, err, "application web has no running operation to terminate (last operation: none)")
	app = getApp(t, env, ns, "web")
	rollback := sollv1.Operation{Rollback: &sollv1.RollbackOperation{ID: 1}}
	app.Status.OperationState = &sollv1.OperationState{Operation: rollback, Phase: sollv1.OperationRunning, StartedAt: deployed}
	if err := env.Client.Status().Update(ctx, app); err != nil {
		t.Fatal(err)
	}
	mustSoll(t, env, ns, "app", "terminate-op", "web")
	if st := getApp(t, env, ns, "web").Status.OperationState; st.Phase != sollv1.OperationTerminating {
		t.Errorf("after terminate-op: phase %s, want Terminating", st.Phase)
	}

	patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"pin":{"revisions":["`+shaA+`"]}}}`))
	if err := env.Client.Patch(ctx, getApp(t, env, ns, "web"), patch); err != nil {
		t.Fatal(err)
	}
	mustSoll(t, env, ns, "app", "unpin", "web")
	if pin := getApp(t, env, ns, "web").Spec.Pin; pin != nil {
		t.Errorf("after unpin: pin %+v", pin)
	}
	if out := mustSoll(t, env, ns, "app", "unpin", "web"); !strings.Contains(out, "not pinned") {
		t.Errorf("second unpin printed %q", out)
	}
}

func TestListAppsPaginates(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := env.Namespace(t)
	f := createFlags{repo: "https://git.example.com/apps.git", path: ".", destServer: inClusterServer, project: "default"}
	for _, name := range []string{"c", "a", "d", "b"} {
		app, err := f.application(name, ns)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Client.Create(context.Background(), app); err != nil {
			t.Fatal(err)
		}
	}
	apps, err := listApps(context.Background(), env.Client, ns, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "d"}, names); diff != "" {
		t.Errorf("listed apps (-want +got):\n%s", diff)
	}
}

// playController does what the controller does with a requested operation:
// it starts it (status Running, .operation removed) and finishes it with
// phase, reporting the app Synced and Healthy.
func playController(ctx context.Context, env *testenv.Env, ns, name string, phase sollv1.OperationPhase) error {
	key := client.ObjectKey{Namespace: ns, Name: name}
	app := &sollv1.Application{}
	err := testenv.Eventually(ctx, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		err := env.Client.Get(ctx, key, app)
		return err == nil && app.Operation != nil, err
	})
	if err != nil {
		return fmt.Errorf("no operation requested: %w", err)
	}
	op := *app.Operation
	app.Status.OperationState = &sollv1.OperationState{Operation: op, Phase: sollv1.OperationRunning, StartedAt: metav1.Now(), Message: "starting"}
	if err := env.Client.Status().Update(ctx, app); err != nil {
		return err
	}
	if err := env.Client.Patch(ctx, app, client.RawPatch("application/merge-patch+json", []byte(`{"operation":null}`))); err != nil {
		return err
	}
	finished := metav1.Now()
	st := app.Status.OperationState
	st.Phase, st.FinishedAt, st.Message = phase, &finished, "done"
	app.Status.ObservedGeneration = app.Generation
	app.Status.Sync = &sollv1.SyncStatus{Status: sollv1.SyncStatusSynced}
	app.Status.Health = &sollv1.HealthStatus{Status: sollv1.HealthHealthy}
	return env.Client.Status().Update(ctx, app)
}

func TestSyncWaitFollowsTheOperation(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := env.Namespace(t)
	mustSoll(t, env, ns, "app", "create", "web", "--repo", "https://git.example.com/apps.git", "--path", "web", "--cascade=false")

	for _, tc := range []struct {
		phase   sollv1.OperationPhase
		wantErr string
	}{
		{sollv1.OperationSucceeded, ""},
		{sollv1.OperationFailed, "Sync of application web failed: done"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		done := make(chan error, 1)
		go func() { done <- playController(ctx, env, ns, "web", tc.phase) }()
		out, err := sollCLI(t, env, ns, "app", "sync", "web", "--wait", "--timeout", "20s")
		if cerr := <-done; cerr != nil {
			t.Fatalf("playing the controller: %v", cerr)
		}
		cancel()
		if tc.wantErr != "" {
			wantError(t, err, tc.wantErr)
			continue
		}
		if err != nil {
			t.Fatalf("soll app sync --wait: %v", err)
		}
		if !strings.Contains(out, "web: sync Synced, health Healthy, operation Succeeded (done)") {
			t.Errorf("sync --wait did not report the end:\n%s", out)
		}
	}
}

// TestAppDiffExitStatus checks the exit statuses of soll app diff that CI
// jobs rely on, in --core mode, playing the controller by writing status:
// 2 while the app was never compared (and for a missing app), 1 while it
// differs, 0 once it is in sync.
func TestAppDiffExitStatus(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := env.Namespace(t)
	mustSoll(t, env, ns, "app", "create", "web", "--repo", "https://git.example.com/apps.git", "--path", "web", "--cascade=false")
	diff := func(args ...string) (string, int) {
		out, err := sollCLI(t, env, ns, append([]string{"app", "diff", "web"}, args...)...)
		return out, ExitCode(err)
	}
	if _, code := diff(); code != 2 {
		t.Errorf("diff of an app never compared: exit %d, want 2", code)
	}
	if out, err := sollCLI(t, env, ns, "app", "diff", "nope"); ExitCode(err) != 2 || out != "" {
		t.Errorf("diff of a missing app: exit %d, output %q; want 2 and nothing", ExitCode(err), out)
	}

	app := getApp(t, env, ns, "web")
	app.Status = sollv1.ApplicationStatus{
		ObservedGeneration: app.Generation,
		Sync:               &sollv1.SyncStatus{Status: sollv1.SyncStatusOutOfSync, Revision: shaA},
		Resources: []sollv1.ResourceStatus{
			{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "web", Status: sollv1.SyncStatusOutOfSync},
			{Kind: "Service", Namespace: "web", Name: "web", Status: sollv1.SyncStatusSynced},
			{Kind: "ConfigMap", Namespace: "web", Name: "old", Status: sollv1.SyncStatusSynced, RequiresPruning: true},
		},
	}
	if err := env.Client.Status().Update(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	out, code := diff()
	want := "application web differs from Git at 1a2b3c4d: 2 resource(s)\n" +
		"GROUP/KIND        NAMESPACE   NAME   STATUS                      HEALTH\n" +
		"apps/Deployment   web         web    OutOfSync                   -\n" +
		"ConfigMap         web         old    Synced (requires pruning)   -\n"
	if diff := cmp.Diff(want, out); code != 1 || diff != "" {
		t.Errorf("diff of an app that differs: exit %d, want 1; output (-want +got):\n%s", code, diff)
	}
	if out, code := diff("-o", "name"); code != 1 || out != "apps:Deployment:web/web\n:ConfigMap:web/old\n" {
		t.Errorf("diff -o name: exit %d, %q", code, out)
	}

	app = getApp(t, env, ns, "web")
	app.Status.Sync.Status = sollv1.SyncStatusSynced
	app.Status.Resources = app.Status.Resources[1:2]
	if err := env.Client.Status().Update(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	if out, code := diff(); code != 0 || out != "" {
		t.Errorf("diff of an app in sync: exit %d, output %q; want 0 and nothing on stdout", code, out)
	}
}
