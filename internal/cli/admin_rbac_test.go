package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/rbac"
)

const testRBACPolicy = `# deployers sync team-a
p, role:deployer, applications, sync, team-a/*, allow
g, team-a-devs, role:deployer
p, contractors, applications, *, */*, deny
`

func writePolicy(t *testing.T, csv string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runSoll(args ...string) (stdout string, err error) {
	var out, errOut bytes.Buffer
	err = Run(context.Background(), args, &out, &errOut)
	return out.String(), err
}

func TestAdminRBACValidate(t *testing.T) {
	out, err := runSoll("admin", "rbac", "validate", "--policy-file", writePolicy(t, testRBACPolicy), "--default-role", "role:readonly")
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	if out != "policy is valid (3 lines)\n" {
		t.Errorf("validate printed %q", out)
	}
}

func TestAdminRBACValidateErrors(t *testing.T) {
	path := writePolicy(t, testRBACPolicy+"p, bob, application, get, */*, allow\ng, carol\n")
	out, err := runSoll("admin", "rbac", "validate", "--policy-file", path)
	if err == nil {
		t.Fatalf("validate of a bad policy succeeded, printing %q", out)
	}
	for _, want := range []string{path + " is not valid", path + " line 5: unknown resource \"application\"", "did you mean applications?", path + " line 6: a g line has 2 fields"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not contain %q:\n%v", want, err)
		}
	}
	if _, err := runSoll("admin", "rbac", "validate", "--policy-file", writePolicy(t, testRBACPolicy), "--default-role", "role:nope"); err == nil || !strings.Contains(err.Error(), "policy.default") {
		t.Errorf("validate with an undefined default role = %v, want an error about policy.default", err)
	}
	if _, err := runSoll("admin", "rbac", "validate", "--policy-file", filepath.Join(t.TempDir(), "missing.csv")); err == nil || !strings.Contains(err.Error(), "--policy-file") {
		t.Errorf("validate of a missing file = %v, want an error naming --policy-file", err)
	}
}

func TestAdminRBACCan(t *testing.T) {
	path := writePolicy(t, testRBACPolicy)
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"sso:alice@example.com", "sync", "applications", "team-a/web", "--group", "team-a-devs"}, true},
		{[]string{"sso:alice@example.com", "sync", "applications", "team-b/web", "--group", "team-a-devs"}, false},
		{[]string{"sso:alice@example.com", "sync", "applications", "team-a/web"}, false},
		{[]string{"sso:alice@example.com", "sync", "applications", "team-a/web", "--group", "team-a-devs", "--group", "contractors"}, false},
		{[]string{"group:team-a-devs", "sync", "applications", "team-a/web"}, true},
		{[]string{"user:alice", "get", "clusters", "https://kube.example:6443"}, false},
		{[]string{"user:alice", "get", "clusters", "https://kube.example:6443", "--default-role", "role:readonly"}, true},
		{[]string{"user:admin", "delete", "projects", "team-a"}, true},
		// An SSO user or group named like the local account admin or its
		// role is neither.
		{[]string{"sso:admin", "delete", "projects", "team-a", "--group", "admin", "--group", "role:admin", "--group", "user:admin"}, false},
		{[]string{"group:admin", "delete", "projects", "team-a"}, false},
	}
	for _, tt := range tests {
		args := append([]string{"admin", "rbac", "can", "--policy-file", path}, tt.args...)
		out, err := runSoll(args...)
		switch {
		case tt.want && (err != nil || out != "yes\n"):
			t.Errorf("soll %s: printed %q, error %v; want yes", strings.Join(args, " "), out, err)
		case !tt.want && (!isNotAllowed(err) || out != "no\n"):
			t.Errorf("soll %s: printed %q, error %v; want no and a notAllowedError", strings.Join(args, " "), out, err)
		}
	}
}

func TestAdminRBACCanBadArgs(t *testing.T) {
	path := writePolicy(t, testRBACPolicy)
	for _, args := range [][]string{
		{"user:alice", "applications", "sync", "team-a/web"}, // resource and action swapped
		{"user:alice", "sync", "apps", "team-a/web"},
		{"user:alice", "sync", "applications"},
		{"alice", "sync", "applications", "team-a/web"},       // no kind
		{"role:admin", "sync", "applications", "team-a/web"},  // a role makes no requests
		{"proj:team-a", "sync", "applications", "team-a/web"}, // no role
	} {
		_, err := runSoll(append([]string{"admin", "rbac", "can", "--policy-file", path}, args...)...)
		if err == nil || isNotAllowed(err) {
			t.Errorf("can %q = %v, want an argument error", args, err)
		}
	}
}

// TestAdminRBACFromCluster reads the ConfigMap and the Projects through a
// fake client.
func TestAdminRBACFromCluster(t *testing.T) {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: rbac.ConfigMapName, Namespace: "soll"},
		Data:       map[string]string{rbac.KeyPolicy: testRBACPolicy, rbac.KeyDefault: "role:readonly"},
	}
	proj := &sollv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: "team-b", Namespace: "soll"},
		Spec: sollv1.ProjectSpec{Roles: []sollv1.ProjectRole{{
			Name:     "ci",
			Policies: []string{"p, proj:team-b:ci, applications, sync, team-b/*, allow"},
		}}},
	}
	c := fake.NewClientBuilder().WithScheme(cliScheme).WithObjects(cm, proj).Build()
	run := func(args ...string) (string, error) {
		cmd := newAdminRBACCommand(&rbacCmd{reader: c})
		var out bytes.Buffer
		cmd.SetArgs(args)
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	if out, err := run("validate"); err != nil || out != "policy is valid (3 lines)\n" {
		t.Errorf("validate printed %q, error %v", out, err)
	}
	if out, err := run("can", "proj:team-b:ci", "sync", "applications", "team-b/api"); err != nil || out != "yes\n" {
		t.Errorf("can for the project role printed %q, error %v; want yes", out, err)
	}
	if out, err := run("can", "proj:team-b:ci", "sync", "applications", "team-a/web"); !isNotAllowed(err) || out != "no\n" {
		t.Errorf("can for the project role outside its project printed %q, error %v; want no", out, err)
	}
	// The ConfigMap's default role applies unless --default-role overrides it.
	if out, err := run("can", "user:zoe", "get", "projects", "team-a"); err != nil || out != "yes\n" {
		t.Errorf("can with the ConfigMap's default role printed %q, error %v; want yes", out, err)
	}
	if out, err := run("can", "user:zoe", "get", "projects", "team-a", "--default-role", ""); !isNotAllowed(err) || out != "no\n" {
		t.Errorf("can with --default-role \"\" printed %q, error %v; want no", out, err)
	}
}

func isNotAllowed(err error) bool {
	var na *notAllowedError
	return errors.As(err, &na)
}
