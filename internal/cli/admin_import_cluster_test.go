package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/argoimport"
	"soll.dev/internal/serve/servetest"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// installArgoCRDs installs minimal CRDs for Argo CD's Application and
// AppProject (any fields), so that a test can create Argo CD objects
// without Argo CD, and waits until the client maps them.
func installArgoCRDs(t *testing.T, env *testenv.Env) {
	t.Helper()
	ctx := context.Background()
	preserve := true
	for _, k := range []struct{ kind, plural string }{{"Application", "applications"}, {"AppProject", "appprojects"}} {
		crd := &apiextensionsv1.CustomResourceDefinition{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
			ObjectMeta: metav1.ObjectMeta{Name: k.plural + ".argoproj.io"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "argoproj.io",
				Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: k.kind, ListKind: k.kind + "List", Plural: k.plural, Singular: strings.ToLower(k.kind)},
				Scope: apiextensionsv1.NamespaceScoped,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1alpha1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: &preserve,
					}},
				}},
			},
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
		if err != nil {
			t.Fatal(err)
		}
		ac := client.ApplyConfigurationFromUnstructured(&unstructured.Unstructured{Object: m})
		if err := env.Client.Apply(ctx, ac, client.FieldOwner("soll-import-test"), client.ForceOwnership); err != nil {
			t.Fatalf("install CRD %s: %v", crd.Name, err)
		}
		gvk := schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: k.kind}
		testenv.WaitFor(t, "CRD "+crd.Name+" served", time.Minute, func() bool {
			var got apiextensionsv1.CustomResourceDefinition
			if err := env.Client.Get(ctx, client.ObjectKey{Name: crd.Name}, &got); err != nil {
				return false
			}
			established := false
			for _, c := range got.Status.Conditions {
				established = established || c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue
			}
			if !established {
				return false
			}
			_, err := env.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
			return err == nil
		})
	}
}

// createYAML creates the objects of a YAML stream in namespace ns and
// returns them as created (with their resourceVersions).
func createYAML(t *testing.T, env *testenv.Env, ns, text string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := argoimport.Decode(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, m := range objs {
		u := &unstructured.Unstructured{Object: m}
		u.SetNamespace(ns)
		if err := env.Client.Create(context.Background(), u); err != nil {
			t.Fatalf("create %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		out = append(out, u)
	}
	return out
}

// TestImportArgoCDIntoCluster imports an Argo CD installation, written for
// the test (Argo CD's CRDs, an AppProject, an Application from a Git
// repository that needs credentials, the repository Secret, argocd-cm
// with a health script and argocd-rbac-cm), from the cluster into a
// running soll: the imported app starts with automated sync off, and once
// it is turned on soll syncs it to Synced and Healthy, using the imported
// credentials, Project and health script. The Argo CD objects are left
// untouched; a second import does not overwrite what was changed since.
func TestImportArgoCDIntoCluster(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	installArgoCRDs(t, env)
	argoNS, sollNS, dest, teamNS := env.Namespace(t), env.Namespace(t), env.Namespace(t), env.Namespace(t)
	ctx := context.Background()

	const user, password = "deployer", "fake-git-password-7"
	git := gitserver.NewHTTP(t, gitserver.HTTPOptions{Username: user, Password: password})
	git.CreateRepo(t, "config", "")
	git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: "v1", Files: map[string]string{
		"app/greeting.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  text: hello\n",
		"app/test-fixture.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fixture\ndata:\n  text: excluded\n",
		"app/sub/farewell.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: farewell\ndata:\n  text: bye\n",
		"app/sub/notes/README":  "not a manifest\n",
	}})
	repoURL := git.HTTPURL("config")

	argo := createYAML(t, env, argoNS, `
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: team
spec:
  sourceRepos: [`+repoURL+`]
  destinations:
  - server: https://kubernetes.default.svc
    namespace: `+dest+`
  roles:
  - name: ci
    policies:
    - p, proj:team:ci, applications, sync, team/*, allow
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: greeting
  finalizers: [resources-finalizer.argocd.argoproj.io]
  annotations:
    notifications.argoproj.io/subscribe.on-sync-succeeded.slack: team
spec:
  project: team
  source:
    repoURL: `+repoURL+`
    targetRevision: HEAD
    path: app
    directory:
      recurse: true
      exclude: 'test-*'
  destination:
    server: https://kubernetes.default.svc
    namespace: `+dest+`
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [PruneLast=true, Validate=false]
---
apiVersion: v1
kind: Secret
metadata:
  name: repo-config
  labels:
    argocd.argoproj.io/secret-type: repository
stringData:
  url: `+repoURL+`
  username: `+user+`
  password: `+password+`
  project: team
  type: git
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
data:
  accounts.ci: apiKey
  resource.customizations.health.ConfigMap: |
    return {status = "Healthy", message = "checked by the imported script"}
  resource.exclusions: '[]'
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-rbac-cm
data:
  policy.default: role:readonly
  policy.csv: |
    p, role:deployer, applications, sync, team/*, allow
    g, ci, role:deployer
`)

	// An Application in another namespace (Argo CD's applications in any
	// namespace) keeps it.
	argo = append(argo, createYAML(t, env, teamNS, `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: team-app
spec:
  project: team
  source: {repoURL: `+repoURL+`, path: app}
  destination: {server: https://kubernetes.default.svc, namespace: `+dest+`}
`)...)

	report := filepath.Join(t.TempDir(), "report.md")
	importArgs := []string{"admin", "import", "argocd", "--kubeconfig", env.KubeconfigPath, "--argocd-namespace", argoNS, "-n", sollNS, "--application-namespace", teamNS}

	// --dry-run changes nothing and prints no Secret value.
	r := soll(t, nil, append(importArgs, "--dry-run")...)
	if r.err != nil {
		t.Fatalf("import --dry-run: %v", r.err)
	}
	wantContains(t, "import --dry-run", r.out, "kind: Application", "kind: Project", "kind: Secret", "name: soll-rbac", "name: soll-config", "password: '"+argoimport.Mask+"'")
	if strings.Contains(r.out+r.errOut, password) {
		t.Errorf("import --dry-run printed the repository password:\n%s\n%s", r.out, r.errOut)
	}
	var apps sollv1.ApplicationList
	if err := env.Client.List(ctx, &apps, client.InNamespace(sollNS)); err != nil || len(apps.Items) != 0 {
		t.Fatalf("import --dry-run created applications: %v %v", apps.Items, err)
	}

	r = soll(t, nil, append(importArgs, "--report", report)...)
	if r.err != nil {
		t.Fatalf("import: %v", r.err)
	}
	if strings.Contains(r.out+r.errOut, password) {
		t.Errorf("import printed the repository password:\n%s\n%s", r.out, r.errOut)
	}
	md, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, "the report", string(md), "## Application "+argoNS+"/greeting", "`spec.syncPolicy.syncOptions[1]` | no-equivalent",
		"`data.resource.exclusions` | no-equivalent", "`metadata.annotations.notifications.argoproj.io/subscribe.on-sync-succeeded.slack` | kept")

	if a := getApp(t, env, teamNS, "team-app"); a.Spec.Project != "team" || a.Spec.Source.Path != "app" {
		t.Errorf("the Application of namespace %s was imported as %+v", teamNS, a.Spec)
	}
	app := getApp(t, env, sollNS, "greeting")
	if a := app.Spec.SyncPolicy.Automated; a == nil || a.Enabled == nil || *a.Enabled || !a.Prune || !a.SelfHeal {
		t.Errorf("imported automated sync = %+v, want prune and selfHeal with enabled false", a)
	}
	if len(app.Finalizers) != 1 || app.Finalizers[0] != sollv1.ResourcesFinalizer {
		t.Errorf("imported finalizers = %v", app.Finalizers)
	}
	var secret corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: sollNS, Name: "repo-config"}, &secret); err != nil {
		t.Fatal(err)
	}
	if secret.Labels[sollv1.SecretTypeLabel] != sollv1.SecretTypeRepository || string(secret.Data["password"]) != password || string(secret.Data["project"]) != "team" {
		t.Errorf("imported Secret: labels %v, keys %d", secret.Labels, len(secret.Data))
	}
	var rbacCM corev1.ConfigMap
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: sollNS, Name: argoimport.RBACConfigMap}, &rbacCM); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rbacCM.Data["policy.csv"], "g, user:ci, role:deployer") || !strings.Contains(rbacCM.Data["policy.csv"], "p, role:deployer, applications, rollback, team/*, allow") {
		t.Errorf("imported policy.csv:\n%s", rbacCM.Data["policy.csv"])
	}

	// soll compares the app but does not sync it on its own.
	servetest.Start(t, env, sollNS, servetest.Options{})
	testenv.WaitFor(t, "first comparison", 2*time.Minute, func() bool {
		a := getApp(t, env, sollNS, "greeting")
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusOutOfSync && len(a.Status.Resources) == 2
	})
	var cm corev1.ConfigMap
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: dest, Name: "greeting"}, &cm); !apierrors.IsNotFound(err) {
		t.Fatalf("the imported app synced before automated sync was turned on: %v", err)
	}

	// Turned on, as soll app set --auto-sync does, it syncs to Healthy.
	patch := []byte(`{"spec":{"syncPolicy":{"automated":{"enabled":true}}}}`)
	if err := env.Client.Patch(ctx, app, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "imported app Synced and Healthy", 3*time.Minute, func() bool {
		a := getApp(t, env, sollNS, "greeting")
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusSynced && a.Status.Health != nil && a.Status.Health.Status == sollv1.HealthHealthy
	})
	a := getApp(t, env, sollNS, "greeting")
	for _, res := range a.Status.Resources {
		if res.Health == nil || res.Health.Message != "checked by the imported script" {
			t.Errorf("resource %s/%s health %+v: the imported health script was not used", res.Kind, res.Name, res.Health)
		}
	}
	for name, want := range map[string]bool{"greeting": true, "farewell": true, "fixture": false} {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: dest, Name: name}, &cm)
		if got := err == nil; got != want {
			t.Errorf("ConfigMap %s deployed = %v (%v), want %v", name, got, err, want)
		}
	}

	// The Argo CD objects are as they were.
	for _, o := range argo {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(o), got); err != nil {
			t.Fatalf("Argo CD's %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		if got.GetResourceVersion() != o.GetResourceVersion() {
			t.Errorf("Argo CD's %s %s was changed by the import", o.GetKind(), o.GetName())
		}
	}

	// A second import keeps the Secret and refuses to undo the change
	// made since (automated sync on) unless --overwrite.
	r = soll(t, nil, importArgs...)
	if r.err == nil || !strings.Contains(r.err.Error(), "--overwrite") {
		t.Errorf("second import: %v, want a conflict naming --overwrite", r.err)
	}
	wantContains(t, "second import", r.out, "secret "+sollNS+"/repo-config exists, kept")
	if a := getApp(t, env, sollNS, "greeting").Spec.SyncPolicy.Automated; a.Enabled == nil || !*a.Enabled {
		t.Errorf("the second import turned automated sync off again")
	}
}

// TestImportArgoCDValidatesAgainstCRDs converts the test set of Argo CD
// objects and creates every result with a server-side dry run, so that
// the API server checks them against soll's CRDs and their rules.
func TestImportArgoCDValidatesAgainstCRDs(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := env.Namespace(t)
	dir := t.TempDir()
	for _, f := range []string{"applications.yaml", "projects.yaml", "secrets.yaml", "config.yaml"} {
		r := soll(t, nil, "admin", "import", "argocd", "-f", filepath.Join("..", "argoimport", "testdata", "in", f),
			"-n", ns, "--output-dir", filepath.Join(dir, strings.TrimSuffix(f, ".yaml")), "--show-secrets")
		if r.err != nil {
			t.Fatalf("import %s: %v", f, r.err)
		}
		out, err := os.ReadFile(filepath.Join(dir, strings.TrimSuffix(f, ".yaml"), f))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := argoimport.Decode(strings.NewReader(string(out)))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range objs {
			u := &unstructured.Unstructured{Object: m}
			if u.GetNamespace() != ns {
				continue // apps kept in their own namespace
			}
			if err := env.Client.Create(context.Background(), u, client.DryRunAll); err != nil {
				y, _ := yaml.Marshal(m)
				t.Errorf("%s: the API server refuses %s %s: %v\n%s", f, u.GetKind(), u.GetName(), err, y)
			}
		}
	}
}

// TestImportedAppOfAppsSyncs converts an app of apps: the child
// Applications kept in Git are converted with --output-dir and committed,
// the parent Application and its AppProject are imported from exported
// files, and soll syncs the parent, which creates the child, which
// deploys its objects.
func TestImportedAppOfAppsSyncs(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	sollNS, dest := env.Namespace(t), env.Namespace(t)
	ctx := context.Background()

	git := gitserver.NewHTTP(t, gitserver.HTTPOptions{})
	git.CreateRepo(t, "config", "")
	git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: "child", Files: map[string]string{
		"child/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-child\ndata:\n  text: hello\n",
	}})
	git.CreateRepo(t, "apps", "")

	in := t.TempDir()
	writeFiles(t, in, map[string]string{
		"apps/child.yaml": `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: child
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: platform
  source:
    repoURL: ` + git.HTTPURL("config") + `
    path: child
  destination:
    server: https://kubernetes.default.svc
    namespace: ` + dest + `
  syncPolicy:
    automated: {prune: true}
`,
		"bootstrap/root.yaml": `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: platform
  namespace: argocd
spec:
  sourceRepos: ['*']
  destinations:
  - server: https://kubernetes.default.svc
    namespace: argocd
  - server: https://kubernetes.default.svc
    namespace: ` + dest + `
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: root
  namespace: argocd
spec:
  project: platform
  source:
    repoURL: ` + git.HTTPURL("apps") + `
    path: apps
  destination:
    server: https://kubernetes.default.svc
    namespace: argocd
  syncPolicy:
    automated: {prune: true}
`,
	})
	out := t.TempDir()
	mustRun(t, "admin", "import", "argocd", "-f", filepath.Join(in, "apps"), "--output-dir", out, "-n", sollNS, "--keep-sync-policy")
	child, err := os.ReadFile(filepath.Join(out, "child.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	git.Commit(t, "apps", gitserver.DefaultBranch, gitserver.Change{Message: "soll Applications", Files: map[string]string{"apps/child.yaml": string(child)}})
	mustRun(t, "admin", "import", "argocd", "-f", filepath.Join(in, "bootstrap"), "--kubeconfig", env.KubeconfigPath, "-n", sollNS, "--keep-sync-policy")

	servetest.Start(t, env, sollNS, servetest.Options{})
	testenv.WaitFor(t, "child app created by the parent, Synced and Healthy", 3*time.Minute, func() bool {
		var a sollv1.Application
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: sollNS, Name: "child"}, &a); err != nil {
			return false
		}
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusSynced && a.Status.Health != nil && a.Status.Health.Status == sollv1.HealthHealthy
	})
	var cm corev1.ConfigMap
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: dest, Name: "from-child"}, &cm); err != nil {
		t.Fatalf("the child app's ConfigMap: %v", err)
	}
	testenv.WaitFor(t, "parent app Synced", time.Minute, func() bool {
		a := getApp(t, env, sollNS, "root")
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusSynced
	})
}
