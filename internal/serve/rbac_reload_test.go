package serve_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/auth"
	"soll.dev/internal/rbac"
	"soll.dev/internal/serve/servetest"
	"soll.dev/internal/testenv"
)

// TestRBACPolicyReload: a running API server, in the controller's process
// (soll run) and on its own (soll server), honours a change of the
// ConfigMap soll-rbac without a restart, both ways: a role granted lets
// a local account in, and taken back shuts it out again.
func TestRBACPolicyReload(t *testing.T) {
	t.Run("in the controller's process", func(t *testing.T) { testRBACPolicyReload(t, false) })
	t.Run("as a separate server", func(t *testing.T) { testRBACPolicyReload(t, true) })
}

func testRBACPolicyReload(t *testing.T, separate bool) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	if err := env.Client.Create(ctx, &sollv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", Namespace: ns},
		Spec:       sollv1.ProjectSpec{SourceRepos: []string{"*"}},
	}); err != nil {
		t.Fatal(err)
	}
	base := servetest.Start(t, env, ns, servetest.Options{Separate: separate})
	admin := &api{t: t, base: base}
	admin.login(auth.AdminAccount, initialAdminPassword(t, env, ns))
	const password = "carol-password-8c1f"
	if code, out := admin.do("POST", "/api/v1/accounts", map[string]any{"name": "carol", "capabilities": []string{"login"}, "password": password}); code != http.StatusCreated {
		t.Fatalf("create account carol: %d %v", code, out)
	}
	carol := &api{t: t, base: base}
	carol.login("carol", password)
	getProject := func() int {
		code, _ := carol.do("GET", "/api/v1/projects/team-a", nil)
		return code
	}
	if code := getProject(); code != http.StatusForbidden {
		t.Fatalf("carol, without a role, gets project team-a: %d, want 403", code)
	}
	waitFor := func(what string, want int, changed time.Time) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		last := 0
		if err := testenv.Eventually(wctx, 50*time.Millisecond, func(context.Context) (bool, error) {
			last = getProject()
			return last == want, nil
		}); err != nil {
			t.Fatalf("%s without a restart: still %d, want %d", what, last, want)
		}
		t.Logf("%s: %s after the change", what, time.Since(changed).Round(time.Millisecond))
	}

	policy := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: rbac.ConfigMapName, Namespace: ns},
		Data:       map[string]string{rbac.KeyPolicy: "g, user:carol, role:readonly\n"},
	}
	changed := time.Now()
	if err := env.Client.Create(ctx, policy); err != nil {
		t.Fatal(err)
	}
	waitFor("role:readonly granted", http.StatusOK, changed)

	policy.Data[rbac.KeyPolicy] = "# carol has no role any more\n"
	changed = time.Now()
	if err := env.Client.Update(ctx, policy); err != nil {
		t.Fatal(err)
	}
	waitFor("role:readonly taken back", http.StatusForbidden, changed)
}
