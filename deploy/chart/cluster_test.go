package chart_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/rbac"
	"soll.dev/internal/repocreds"
	"soll.dev/internal/testenv"
)

// TestInstallOnCluster installs the chart with the Helm SDK into a fresh
// namespace of the test cluster, with SSO, a policy, an Ingress, metrics
// and repository credentials kept in a Secret of the user's, checks that
// the API server took every object and that soll reads what the chart
// wrote, then uninstalls it: everything goes but the CRDs.
//
// The shared cluster has soll's CRDs already (testenv installs them, and
// other test packages use them at the same time), so the install skips
// the chart's crds directory, as helm install --skip-crds does; Helm never
// upgrades or deletes CRDs anyway. TestCRDsAreGenerated makes sure that
// directory holds the CRDs testenv installs.
func TestInstallOnCluster(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	clusterRole := "soll-controller-" + ns
	t.Cleanup(func() { // when the test fails before the uninstall
		for _, o := range []client.Object{&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: clusterRole}}, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: clusterRole}}} {
			if err := env.Client.Delete(context.Background(), o); client.IgnoreNotFound(err) != nil {
				t.Errorf("clean up: %v", err)
			}
		}
	})
	// The user's own Secrets, which the chart names.
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "sso-client", Namespace: ns}, StringData: map[string]string{"clientSecret": "sso-secret"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "git-bot", Namespace: ns}, StringData: map[string]string{"username": "bot", "password": "bot-password"}},
	} {
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}

	flags := genericclioptions.NewConfigFlags(false)
	cacheDir := t.TempDir() // discovery's cache, instead of ~/.kube/cache
	flags.KubeConfig, flags.Namespace, flags.CacheDir = &env.KubeconfigPath, &ns, &cacheDir
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.NewTextHandler(io.Discard, nil)))
	if err := cfg.Init(flags, ns, "secret"); err != nil {
		t.Fatal(err)
	}
	inst := action.NewInstall(cfg)
	inst.ReleaseName, inst.Namespace, inst.SkipCRDs = "soll", ns, true
	inst.WaitStrategy, inst.Timeout = kube.HookOnlyStrategy, 2*time.Minute
	vals := values(t, `
ingress: {enabled: true, className: nginx, host: soll.example.com, tls: {secretName: soll-tls}}
metrics: {enabled: true}
oidc:
  issuer: https://sso.example.com
  clientID: soll
  clientSecret: {existingSecret: sso-client}
rbac:
  policy: "g, group:platform, role:admin"
  defaultRole: role:readonly
repositories:
  - {name: team-a-git, url: https://git.example.com/team-a, template: true, project: team-a, existingSecret: git-bot}
`)
	if _, err := inst.RunWithContext(ctx, loadChart(t), vals); err != nil {
		t.Fatalf("helm install: %v", err)
	}

	objects := []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "soll", Namespace: ns}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: clusterRole}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: clusterRole}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "soll-secrets", Namespace: ns}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "soll-secrets", Namespace: ns}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "soll", Namespace: ns}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "soll", Namespace: ns}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "soll", Namespace: ns}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: sollv1.SettingsConfigMap, Namespace: ns}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: rbac.ConfigMapName, Namespace: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "team-a-git", Namespace: ns}},
	}
	for _, o := range objects {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			t.Errorf("after helm install: %T %s: %v", o, o.GetName(), err)
		}
	}

	// soll reads what the chart wrote: the policy, and the credentials
	// lent by the user's Secret to team-a's apps.
	store := rbac.NewStore(env.Client, ns)
	if err := store.Load(ctx); err != nil {
		t.Fatalf("soll reads the chart's policy: %v", err)
	}
	someone := []rbac.Subject{rbac.SSOUser("someone@example.com")}
	if !store.Allowed([]rbac.Subject{rbac.Group("platform")}, "applications", "delete", "default/app") ||
		!store.Allowed(someone, "applications", "get", "default/app") || store.Allowed(someone, "applications", "delete", "default/app") {
		t.Error("the chart's policy does not make group:platform admin and everyone else readonly")
	}
	app := &sollv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns}, Spec: sollv1.ApplicationSpec{Project: "team-a"}}
	creds, err := repocreds.Lookup(ctx, env.Client, app, &sollv1.ApplicationSource{RepoURL: "https://git.example.com/team-a/app.git"}, "spec.source")
	if err != nil || creds.Username != "bot" || creds.Password != "bot-password" {
		t.Errorf("credentials of the chart's repository Secret: user %q, password lent %v, %v", creds.Username, creds.Password == "bot-password", err)
	}

	// The pod starts (the test cluster's nodes are simulated: this checks
	// that the API server and the scheduler accept the pod).
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := testenv.Eventually(wctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		var dep appsv1.Deployment
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "soll"}, &dep)
		return err == nil && dep.Status.AvailableReplicas == 1, err
	}); err != nil {
		t.Errorf("the Deployment does not become available: %v", err)
	}

	uninst := action.NewUninstall(cfg)
	uninst.WaitStrategy, uninst.Timeout = kube.HookOnlyStrategy, 2*time.Minute
	if _, err := uninst.Run("soll"); err != nil {
		t.Fatalf("helm uninstall: %v", err)
	}
	for _, o := range objects {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(o), o)
		if !apierrors.IsNotFound(err) && o.GetDeletionTimestamp() == nil {
			t.Errorf("after helm uninstall: %T %s is still there (%v)", o, o.GetName(), err)
		}
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "applications.soll.dev"}, &crd); err != nil {
		t.Errorf("the CRDs went with the release: %v", err)
	}
}
