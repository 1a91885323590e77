package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// leading is what a replica logs when it starts to lead.
const leading = "leading: this replica runs the controller"

// TestLeaderElectionProcesses runs two `soll run` processes of the built
// binary on one namespace: both serve the API, one leads and syncs; when
// the leader is killed (SIGKILL: the Lease is not released), the other
// takes over once the Lease expired and syncs a new app, without running
// the first app's sync again; a leader whose Lease is taken exits with a
// non-zero status and says why.
func TestLeaderElectionProcesses(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns, dest := env.Namespace(t), env.Namespace(t)
	ctx := context.Background()

	git := gitWithCreds(t, env, ns)
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  k: v\n"
	}
	git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: "two apps", Files: map[string]string{
		"one/cm.yaml": cm("one"), "two/cm.yaml": cm("two"),
	}})

	// Both replicas serve the API (startSoll waits for it), the leader
	// or not.
	replicas := []*server{startSoll(t, env, ns, freeAddr(t)), startSoll(t, env, ns, freeAddr(t))}
	leader := func() []int {
		var out []int
		for i, r := range replicas {
			if strings.Contains(r.log(t), leading) {
				out = append(out, i)
			}
		}
		return out
	}
	waitFor(t, "a replica to lead", 30*time.Second, func() bool { return len(leader()) > 0 })
	if l := leader(); len(l) != 1 {
		t.Fatalf("replicas %v lead at once", l)
	}
	first := leader()[0]
	other := replicas[1-first]
	for _, r := range replicas {
		resp, err := http.Get(r.URL + "/api/v1/version")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("the API of %s answers %d", r.URL, resp.StatusCode)
		}
	}

	createApp := func(name string) {
		t.Helper()
		app := &sollv1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: sollv1.ApplicationSpec{
				Source: &sollv1.ApplicationSource{RepoURL: git.HTTPURL("config"), TargetRevision: "main", Path: name,
					CredentialsRef: &sollv1.LocalSecretReference{Name: "git-creds"}},
				Destination: sollv1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: dest},
				SyncPolicy:  &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}},
			},
		}
		if err := env.Client.Create(ctx, app); err != nil {
			t.Fatal(err)
		}
	}
	app := func(name string) *sollv1.Application {
		t.Helper()
		var a sollv1.Application
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &a); err != nil {
			t.Fatal(err)
		}
		return &a
	}
	synced := func(name string) bool {
		a := app(name)
		st := a.Status.OperationState
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusSynced && st != nil &&
			st.Phase == sollv1.OperationSucceeded && len(a.Status.History) == 1
	}
	createApp("one")
	waitFor(t, "app one to sync", 2*time.Minute, func() bool { return synced("one") })
	if strings.Contains(other.log(t), leading) {
		t.Fatal("the second replica leads beside the first")
	}

	// SIGKILL: the leader cannot release the Lease; the other replica
	// leads once it expired.
	if err := replicas[first].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-replicas[first].exited
	killed := time.Now()
	waitFor(t, "the other replica to lead", 30*time.Second, func() bool { return strings.Contains(other.log(t), leading) })
	t.Logf("takeover after SIGKILL of the leader: %s", time.Since(killed).Round(100*time.Millisecond))
	createApp("two")
	waitFor(t, "app two to sync on the new leader", 2*time.Minute, func() bool { return synced("two") })
	if n := len(app("one").Status.History); n != 1 {
		t.Errorf("app one has %d history entries, want 1: its sync ran again on the new leader", n)
	}

	// The Lease is taken by another holder: the leader exits non-zero
	// and logs why.
	var lease coordinationv1.Lease
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "soll-controller"}, &lease); err != nil {
		t.Fatal(err)
	}
	intruder, now := "intruder", metav1.NewMicroTime(time.Now())
	lease.Spec.HolderIdentity, lease.Spec.RenewTime = &intruder, &now
	if err := env.Client.Update(ctx, &lease); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the leader to exit once it lost the Lease", 30*time.Second, func() bool {
		select {
		case <-other.exited:
			return true
		default:
			return false
		}
	})
	if code := other.cmd.ProcessState.ExitCode(); code == 0 {
		t.Errorf("the leader that lost the Lease exited with status 0")
	}
	if log := other.log(t); !strings.Contains(log, "lost the Lease "+ns+"/soll-controller") {
		t.Errorf("the leader's log does not say it lost the Lease:\n%s", other.logTail(t, 20))
	}
}

// waitFor polls cond for at most timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := testenv.Eventually(ctx, 100*time.Millisecond, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// gitWithCreds starts a Git server with a repository "config" and stores
// its credentials in soll's namespace ns as the Secret "git-creds", shared
// with every Project.
func gitWithCreds(t *testing.T, env *testenv.Env, ns string) *gitserver.HTTPServer {
	t.Helper()
	git := gitserver.NewHTTP(t, gitserver.HTTPOptions{Username: "soll", Password: repoPassword})
	git.CreateRepo(t, "config", "")
	creds := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "git-creds", Namespace: ns, Labels: map[string]string{
			sollv1.SecretTypeLabel: sollv1.SecretTypeRepoCreds, sollv1.SharedLabel: "true",
		}},
		StringData: map[string]string{"url": git.URL, "username": "soll", "password": repoPassword},
	}
	if err := env.Client.Create(context.Background(), creds); err != nil {
		t.Fatal(err)
	}
	return git
}
