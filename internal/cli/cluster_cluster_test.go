package cli

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/testenv"
)

// devContext returns the kubeconfig of the shared cluster with its one
// context, and that context's name: the cluster soll cluster add
// registers as a "remote" one (its server is https://127.0.0.1:PORT).
func devContext(t *testing.T, env *testenv.Env) (kubeconfig, context string) {
	t.Helper()
	raw, err := clientcmd.LoadFromFile(env.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if raw.CurrentContext == "" || raw.Contexts[raw.CurrentContext] == nil {
		t.Fatalf("%s has no current context", env.KubeconfigPath)
	}
	return env.KubeconfigPath, raw.CurrentContext
}

// whoIs asks the API server who token is (SelfSubjectReview); a refused
// token is an Unauthorized error.
func whoIs(env *testenv.Env, token string) (string, error) {
	cfg := &rest.Config{Host: env.Config.Host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: env.Config.CAData, CAFile: env.Config.CAFile}}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	r, err := kube.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return r.Status.UserInfo.Username, nil
}

// tokenSecretsOf lists the service-account token Secrets of sa in ns.
func tokenSecretsOf(t *testing.T, env *testenv.Env, ns, sa string) []corev1.Secret {
	t.Helper()
	var list corev1.SecretList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(list.Items, func(s corev1.Secret) bool {
		return s.Type != corev1.SecretTypeServiceAccountToken || s.Annotations[corev1.ServiceAccountNameKey] != sa
	})
}

// TestClusterCommands registers the shared cluster with soll cluster add
// from a kubeconfig context: the ServiceAccount, ClusterRole, binding and
// token Secret exist there, soll holds the ServiceAccount's token (which
// authenticates as it), not the kubeconfig user's credentials; list, get
// and set work; rotate-auth gives soll a new token and the old one is
// refused afterwards; rm removes the Cluster and its Secret.
func TestClusterCommands(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns, base := loginAdmin(t, env)
	ctx := context.Background()
	kubeconfig, kubeContext := devContext(t, env)
	sysNS := env.Namespace(t)
	const sa = "soll-manager"
	binding := sa + "-" + sysNS
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: binding}})
		_ = env.Client.Delete(context.Background(), &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "soll-manager-role"}})
	})
	add := []string{"cluster", "add", kubeContext, "--kubeconfig", kubeconfig, "--name", "dev", "--system-namespace", sysNS, "--label", "env=dev"}

	wantError(t, soll(t, nil, add...).err, "ServiceAccount "+sysNS+"/soll-manager with every right on every namespace and cluster-scoped object in the cluster of context "+kubeContext+" ("+env.Config.Host+"): pass --yes to go ahead")
	wantError(t, soll(t, nil, "cluster", "add", "nope", "--kubeconfig", kubeconfig, "--yes").err, "no context nope in "+kubeconfig)
	if tokenSecretsOf(t, env, sysNS, sa) != nil {
		t.Fatal("a refused cluster add made a token Secret")
	}

	out := mustRun(t, append(add, "--yes")...)
	wantContains(t, "cluster add", out, "ClusterRole soll-manager-role", "ClusterRoleBinding "+binding,
		"cluster dev ("+env.Config.Host+") registered on soll at "+base+" with the token of ServiceAccount "+sysNS+"/soll-manager")

	// In the target: the ServiceAccount, its rights, its token.
	var acct corev1.ServiceAccount
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: sysNS, Name: sa}, &acct); err != nil {
		t.Fatalf("ServiceAccount: %v", err)
	}
	var role rbacv1.ClusterRole
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "soll-manager-role"}, &role); err != nil || len(role.Rules) == 0 || !slices.Equal(role.Rules[0].Verbs, []string{"*"}) {
		t.Fatalf("ClusterRole: %+v (%v)", role.Rules, err)
	}
	var crb rbacv1.ClusterRoleBinding
	if err := env.Client.Get(ctx, client.ObjectKey{Name: binding}, &crb); err != nil ||
		crb.RoleRef.Name != "soll-manager-role" || len(crb.Subjects) != 1 || crb.Subjects[0].Name != sa || crb.Subjects[0].Namespace != sysNS {
		t.Fatalf("ClusterRoleBinding: %+v (%v)", crb, err)
	}
	tokens := tokenSecretsOf(t, env, sysNS, sa)
	if len(tokens) != 1 || len(tokens[0].Data[corev1.ServiceAccountTokenKey]) == 0 {
		t.Fatalf("token Secrets: %d", len(tokens))
	}
	saToken := string(tokens[0].Data[corev1.ServiceAccountTokenKey])

	// In soll: the Cluster, and the ServiceAccount's token in its Secret.
	var cl sollv1.Cluster
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dev"}, &cl); err != nil {
		t.Fatal(err)
	}
	if cl.Spec.Server != env.Config.Host || cl.Spec.CAData == "" || cl.Labels["env"] != "dev" || len(cl.Spec.Namespaces) != 0 || cl.Spec.SecretName != "cluster-dev" {
		t.Errorf("Cluster: %+v %v", cl.Spec, cl.Labels)
	}
	var sec corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cluster-dev"}, &sec); err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["token"]) != saToken || len(sec.Data) != 1 {
		t.Errorf("soll's Secret holds %d keys, and not the ServiceAccount's token", len(sec.Data))
	}
	if env.Config.BearerToken != "" && string(sec.Data["token"]) == env.Config.BearerToken {
		t.Error("soll's Secret holds the kubeconfig user's token")
	}
	who, err := whoIs(env, saToken)
	if want := "system:serviceaccount:" + sysNS + ":" + sa; err != nil || who != want {
		t.Fatalf("the token is %q (%v), want %q", who, err, want)
	}

	// A second registration of the same server is refused, with advice.
	wantError(t, soll(t, nil, "cluster", "add", kubeContext, "--kubeconfig", kubeconfig, "--name", "dev-2", "--system-namespace", sysNS, "--yes").err,
		"cluster dev on soll at "+base+" has server "+env.Config.Host+" already: a server is registered once; remove it with soll cluster rm dev first")

	// list, get, set; never the token.
	printed := []string{}
	show := func(args ...string) string {
		t.Helper()
		out := mustRun(t, args...)
		printed = append(printed, out)
		return out
	}
	// The controller reports the cluster reachable, with its version.
	testenv.WaitFor(t, "cluster dev reported reachable", time.Minute, func() bool {
		return strings.Contains(mustRun(t, "cluster", "list"), "Reachable")
	})
	wantContains(t, "cluster list", show("cluster", "list"), "NAME", "in-cluster", sollv1.InClusterServer, "dev", env.Config.Host, "Reachable", "v1.", "token", "(all)")
	if got := show("cluster", "list", "-o", "name"); got != "in-cluster\ndev\n" {
		t.Errorf("cluster list -o name = %q", got)
	}
	var listed []apitypes.Cluster
	if err := json.Unmarshal([]byte(show("cluster", "list", "-o", "json")), &listed); err != nil || len(listed) != 2 || listed[1].Credentials != "token" {
		t.Errorf("cluster list -o json: %+v (%v)", listed, err)
	}
	wantContains(t, "cluster get", show("cluster", "get", "dev"), "Server:", env.Config.Host, "CA:", "set", "token (Secret cluster-dev)", "env=dev")
	wantContains(t, "cluster get -o yaml", show("cluster", "get", "dev", "-o", "yaml"), "hasCAData: true", "credentials: token")
	wantError(t, soll(t, nil, "cluster", "get", "nope").err, "cluster nope not found on soll at "+base+": list them with soll cluster list")
	wantContains(t, "cluster set", show("cluster", "set", "dev", "--label", "team=a", "--label", "env-", "--namespace", "apps,web"), "cluster dev changed")
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dev"}, &cl); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cl.Spec.Namespaces, []string{"apps", "web"}) || cl.Labels["team"] != "a" || cl.Labels["env"] != "" {
		t.Errorf("after set: %+v %v", cl.Spec.Namespaces, cl.Labels)
	}
	wantError(t, soll(t, nil, "cluster", "set", "dev").err, "nothing to change")
	wantError(t, soll(t, nil, "cluster", "set", "dev", "--namespace", "Bad_NS").err, "namespaces[0]")
	show("cluster", "set", "dev", "--all-namespaces")

	// rotate-auth: a new token for soll, the old one revoked.
	out = show("cluster", "rotate-auth", "dev", "--kubeconfig", kubeconfig, "--system-namespace", sysNS)
	wantContains(t, "rotate-auth", out, "cluster dev: soll uses the token of Secret "+sysNS+"/", "old token Secret "+sysNS+"/"+tokens[0].Name+" deleted")
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cluster-dev"}, &sec); err != nil {
		t.Fatal(err)
	}
	newToken := string(sec.Data["token"])
	if newToken == "" || newToken == saToken {
		t.Fatal("rotate-auth did not give soll a new token")
	}
	if who, err := whoIs(env, newToken); err != nil || !strings.HasSuffix(who, ":"+sa) {
		t.Fatalf("the new token is %q (%v)", who, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = testenv.Eventually(wctx, 100*time.Millisecond, func(context.Context) (bool, error) {
		_, err := whoIs(env, saToken)
		return apierrors.IsUnauthorized(err), nil
	})
	if err != nil {
		t.Fatal("the old token still authenticates after rotate-auth")
	}
	if n := len(tokenSecretsOf(t, env, sysNS, sa)); n != 1 {
		t.Errorf("%d token Secrets after rotate-auth, want 1", n)
	}

	out = show("cluster", "rm", "dev")
	wantContains(t, "cluster rm", out, "cluster dev removed from soll at "+base+"; no application deploys there")
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dev"}, &cl); !apierrors.IsNotFound(err) {
		t.Errorf("Cluster after rm: %v", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cluster-dev"}, &sec); !apierrors.IsNotFound(err) {
		t.Errorf("Secret after rm: %v", err)
	}
	for _, p := range printed {
		if strings.Contains(p, saToken) || strings.Contains(p, newToken) {
			t.Errorf("a command printed a token:\n%s", p)
		}
	}
}

// TestClusterAddNamespaces: with --namespace, soll cluster add makes a
// Role and RoleBinding in each namespace and no ClusterRoleBinding, and
// registers the cluster for those namespaces only.
func TestClusterAddNamespaces(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns, base := loginAdmin(t, env)
	ctx := context.Background()
	kubeconfig, kubeContext := devContext(t, env)
	sysNS, appsA, appsB := env.Namespace(t), env.Namespace(t), env.Namespace(t)
	const sa = "soll-scoped"
	var crb rbacv1.ClusterRoleBinding
	binding := sa + "-" + sysNS

	wantError(t, soll(t, nil, "cluster", "add", kubeContext, "--kubeconfig", kubeconfig, "--name", "scoped", "--cluster-resources", "--yes").err,
		"--cluster-resources is for --namespace")
	wantError(t, soll(t, nil, "cluster", "add", kubeContext, "--kubeconfig", kubeconfig, "--name", "scoped", "--service-account", sa,
		"--system-namespace", sysNS, "--namespace", "no-such-namespace-x1", "--yes").err, "namespace no-such-namespace-x1 does not exist in the cluster of context "+kubeContext)

	out := mustRun(t, "cluster", "add", kubeContext, "--kubeconfig", kubeconfig, "--name", "scoped", "--service-account", sa,
		"--system-namespace", sysNS, "--namespace", appsA, "--namespace", appsB, "--yes")
	wantContains(t, "cluster add --namespace", out, "Role "+appsA+"/soll-manager-role", "RoleBinding "+appsB+"/"+binding)
	if strings.Contains(out, "ClusterRole") {
		t.Errorf("cluster add --namespace made cluster-wide rights:\n%s", out)
	}
	for _, n := range []string{appsA, appsB} {
		var role rbacv1.Role
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: n, Name: "soll-manager-role"}, &role); err != nil {
			t.Errorf("Role in %s: %v", n, err)
		}
		var rb rbacv1.RoleBinding
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: n, Name: binding}, &rb); err != nil || rb.RoleRef.Kind != "Role" || rb.Subjects[0].Name != sa {
			t.Errorf("RoleBinding in %s: %+v (%v)", n, rb, err)
		}
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: binding}, &crb); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRoleBinding %s: %v, want none", binding, err)
	}
	var cl sollv1.Cluster
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "scoped"}, &cl); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cl.Spec.Namespaces, []string{appsA, appsB}) || cl.Spec.ClusterResources == nil || *cl.Spec.ClusterResources {
		t.Errorf("Cluster: %+v", cl.Spec)
	}
	// A second registration is refused before anything is made in the
	// cluster.
	r := soll(t, nil, "cluster", "add", kubeContext, "--kubeconfig", kubeconfig, "--name", "scoped", "--service-account", sa,
		"--system-namespace", sysNS, "--namespace", appsA, "--yes")
	wantError(t, r.err, "cluster scoped is registered on soll at "+base+" already (server "+env.Config.Host+"): change it with soll cluster set scoped, or give another --name")
	r = soll(t, nil, "cluster", "add", kubeContext, "--kubeconfig", kubeconfig, "--name", "scoped-2", "--service-account", sa,
		"--system-namespace", sysNS, "--yes")
	wantError(t, r.err, "cluster scoped on soll at "+base+" has server "+env.Config.Host+" already")
	if err := env.Client.Get(ctx, client.ObjectKey{Name: binding}, &crb); !apierrors.IsNotFound(err) {
		t.Errorf("a refused cluster add made ClusterRoleBinding %s: %v", binding, err)
	}
	wantContains(t, "cluster rm", mustRun(t, "cluster", "rm", "scoped"), "cluster scoped removed")

	// Again after rm: what it made is updated and its token reused.
	mustRun(t, "cluster", "add", kubeContext, "--kubeconfig", kubeconfig, "--name", "scoped", "--service-account", sa,
		"--system-namespace", sysNS, "--namespace", appsA, "--yes")
	if n := len(tokenSecretsOf(t, env, sysNS, sa)); n != 1 {
		t.Errorf("%d token Secrets after a second add, want 1", n)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "scoped"}, &cl); err != nil || !slices.Equal(cl.Spec.Namespaces, []string{appsA}) {
		t.Errorf("Cluster after a second add: %+v (%v)", cl.Spec, err)
	}
	mustRun(t, "cluster", "rm", "scoped")
}
