package cli

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	filippoage "filippo.io/age"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/backup"
	"soll.dev/internal/testenv"
)

// TestBackupRoundTrip exports the soll objects of one namespace (a
// Project, an Application with automated prune and an operation in
// flight, one without automated sync, a repository Secret, the accounts
// Secret and the settings ConfigMaps), with and without Secrets, and
// restores the backup into an empty namespace: every object comes back
// equal, except that the restored Application has no operation and its
// automated prune is off with the annotation saying so; Secret values
// never appear in the file or in the output; a restore into a namespace
// that holds the objects applies nothing.
func TestBackupRoundTrip(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	from, to := env.Namespace(t), env.Namespace(t)
	ctx := context.Background()
	const password = "backup-git-password-5"
	createYAML(t, env, from, `
apiVersion: soll.dev/v1alpha1
kind: Project
metadata:
  name: team
  labels: {tier: gold}
spec:
  description: the team
  sourceRepos: ["https://git.example.com/*"]
  destinations: [{server: "https://kubernetes.default.svc", namespace: "team-*"}]
---
apiVersion: soll.dev/v1alpha1
kind: Application
metadata:
  name: web
  finalizers: [soll.dev/resources-finalizer]
  annotations: {soll.dev/refresh: normal, team.example.com/owner: web}
spec:
  project: team
  source: {repoURL: "https://git.example.com/web.git", path: deploy, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: team-web}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
operation:
  sync: {prune: true}
---
apiVersion: soll.dev/v1alpha1
kind: Application
metadata:
  name: plain
spec:
  project: team
  source: {repoURL: "https://git.example.com/plain.git", path: .}
  destination: {server: "https://kubernetes.default.svc", namespace: team-plain}
---
apiVersion: v1
kind: Secret
metadata:
  name: repo-web
  labels: {soll.dev/secret-type: repository}
stringData:
  url: https://git.example.com/web.git
  project: team
  username: deployer
  password: `+password+`
---
apiVersion: v1
kind: Secret
metadata:
  name: soll-accounts
  # Labelled as well as named: exported once.
  labels: {soll.dev/secret-type: accounts}
stringData:
  accounts: "ci: {}"
---
apiVersion: v1
kind: Secret
metadata:
  name: unrelated
stringData:
  token: not-soll's
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: soll-config
data:
  resource.customizations.ignoreDifferences.all: "jsonPointers: [/spec/replicas]"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: soll-rbac
data:
  policy.csv: "p, role:dev, applications, get, team/*, allow"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: unrelated
data:
  a: b
`)
	id, err := filippoage.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kube := []string{"--kubeconfig", env.KubeconfigPath}

	// Without Secrets: repository Secrets become references.
	refsFile := filepath.Join(dir, "refs.yaml")
	r := soll(t, nil, append(kube, "admin", "export", "-n", from, "-o", refsFile)...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	refs := readText(t, refsFile)
	wantContains(t, "export without secrets", refs, "# soll backup of namespace "+from, "kind: SecretReference", "name: repo-web", "url: https://git.example.com/web.git", "kind: Project", "name: soll-rbac")
	for _, bad := range []string{password, "kind: Secret\n", "name: unrelated", "name: soll-accounts", "resourceVersion", "uid:", "managedFields", "status:", "operation:"} {
		if strings.Contains(refs, bad) {
			t.Errorf("export without secrets contains %q:\n%s", bad, refs)
		}
	}
	r = soll(t, nil, append(kube, "admin", "import", "-f", refsFile, "-n", to, "--dry-run")...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	wantContains(t, "import --dry-run of references", r.errOut, "recreate Secret "+to+"/repo-web: repository credentials for https://git.example.com/web.git of Project team")

	// With Secrets, encrypted: the password is not in the file.
	full := filepath.Join(dir, "full.yaml")
	if r = soll(t, nil, append(kube, "admin", "export", "-n", from, "-o", full, "--include-secrets", "--age-recipient", id.Recipient().String())...); r.err != nil {
		t.Fatal(r.err)
	}
	text := readText(t, full)
	wantContains(t, "export with secrets", text, "kind: EncryptedSecrets", "BEGIN AGE ENCRYPTED FILE", "secrets: 2")
	if strings.Contains(text, password) || strings.Contains(text, "deployer") {
		t.Fatalf("the backup holds a Secret value in clear:\n%s", text)
	}

	// Without the identity, or on a dry run, nothing is applied.
	r = soll(t, nil, append(kube, "admin", "import", "-f", full, "-n", to)...)
	wantError(t, r.err, "pass --age-identity FILE")
	r = soll(t, nil, append(kube, "admin", "import", "-f", full, "-n", to, "--age-identity", keyFile, "--dry-run")...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	wantContains(t, "import --dry-run", r.out, "kind: Secret", "password: '***'", "namespace: "+to)
	if strings.Contains(r.out+r.errOut, password) {
		t.Fatalf("import --dry-run printed a Secret value:\n%s", r.out)
	}
	var apps sollv1.ApplicationList
	if err := env.Client.List(ctx, &apps, client.InNamespace(to)); err != nil || len(apps.Items) != 0 {
		t.Fatalf("a failed or dry-run import created Applications: %v %v", apps.Items, err)
	}

	// The restore.
	r = soll(t, nil, append(kube, "admin", "import", "-f", full, "-n", to, "--age-identity", keyFile)...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	wantContains(t, "import", r.errOut, "automated prune is off on 1 Applications", "web")
	if strings.Contains(r.out+r.errOut, password) {
		t.Fatalf("import printed a Secret value:\n%s%s", r.out, r.errOut)
	}
	var proj, proj2 sollv1.Project
	mustGet(t, env, from, "team", &proj)
	mustGet(t, env, to, "team", &proj2)
	if !reflect.DeepEqual(proj.Spec, proj2.Spec) || proj2.Labels["tier"] != "gold" {
		t.Errorf("project: restored %+v %v, want %+v", proj2.Spec, proj2.Labels, proj.Spec)
	}
	for _, name := range []string{"web", "plain"} {
		a, b := getApp(t, env, from, name), getApp(t, env, to, name)
		want := a.Spec.DeepCopy()
		if name == "web" {
			want.SyncPolicy.Automated.Prune = false
			if b.Annotations[backup.PruneOffAnnotation] == "" || b.Annotations["team.example.com/owner"] != "web" {
				t.Errorf("app web: annotations %v, want %s and the user's kept", b.Annotations, backup.PruneOffAnnotation)
			}
			if _, ok := b.Annotations[sollv1.RefreshAnnotation]; ok {
				t.Errorf("app web: the refresh request was restored")
			}
			if !reflect.DeepEqual(b.Finalizers, []string{sollv1.ResourcesFinalizer}) {
				t.Errorf("app web: finalizers %v, want the cascade finalizer", b.Finalizers)
			}
			if b.Operation != nil || a.Operation == nil {
				t.Errorf("app web: operation %+v in the restore (source %+v), want none", b.Operation, a.Operation)
			}
		} else if _, ok := b.Annotations[backup.PruneOffAnnotation]; ok {
			t.Errorf("app plain: annotated %s without prune", backup.PruneOffAnnotation)
		}
		if !reflect.DeepEqual(*want, b.Spec) {
			t.Errorf("app %s: restored spec\n%+v\nwant\n%+v", name, b.Spec, *want)
		}
	}
	for _, name := range []string{"repo-web", "soll-accounts"} {
		var a, b corev1.Secret
		mustGet(t, env, from, name, &a)
		mustGet(t, env, to, name, &b)
		if !reflect.DeepEqual(a.Data, b.Data) || !reflect.DeepEqual(a.Labels, b.Labels) {
			t.Errorf("secret %s differs after the restore (labels %v, want %v)", name, b.Labels, a.Labels)
		}
	}
	for _, name := range []string{"soll-config", "soll-rbac"} {
		var a, b corev1.ConfigMap
		mustGet(t, env, from, name, &a)
		mustGet(t, env, to, name, &b)
		if !reflect.DeepEqual(a.Data, b.Data) {
			t.Errorf("configmap %s: restored %v, want %v", name, b.Data, a.Data)
		}
	}
	var cm corev1.ConfigMap
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: to, Name: "unrelated"}, &cm); err == nil {
		t.Errorf("a ConfigMap that is not soll's was restored")
	}

	// A second restore finds the objects and applies nothing.
	r = soll(t, nil, append(kube, "admin", "import", "-f", full, "-n", to, "--age-identity", keyFile)...)
	wantError(t, r.err, "objects of the backup exist in namespace "+to+", nothing was applied")
	wantError(t, r.err, "application "+to+"/web")

	// --overwrite replaces what changed since.
	var rbacCM corev1.ConfigMap
	mustGet(t, env, to, "soll-rbac", &rbacCM)
	rbacCM.Data["policy.csv"] = "changed"
	if err := env.Client.Update(ctx, &rbacCM); err != nil {
		t.Fatal(err)
	}
	if r = soll(t, nil, append(kube, "admin", "import", "-f", full, "-n", to, "--age-identity", keyFile, "--overwrite")...); r.err != nil {
		t.Fatal(r.err)
	}
	mustGet(t, env, to, "soll-rbac", &rbacCM)
	if got := rbacCM.Data["policy.csv"]; got != "p, role:dev, applications, get, team/*, allow" {
		t.Errorf("soll-rbac after --overwrite: %q", got)
	}

	// A file with one bad document restores nothing, not even the good
	// ones before it.
	empty := env.Namespace(t)
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(text+"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x, namespace: "+from+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = soll(t, nil, append(kube, "admin", "import", "-f", bad, "-n", empty, "--age-identity", keyFile)...)
	wantError(t, r.err, "nothing was applied")
	wantError(t, r.err, `(Deployment x): apiVersion "apps/v1" kind "Deployment" is not part of a soll backup`)
	var projects sollv1.ProjectList
	if err := env.Client.List(ctx, &projects, client.InNamespace(empty)); err != nil || len(projects.Items) != 0 {
		t.Fatalf("a rejected backup created Projects: %v %v", projects.Items, err)
	}

	// import without -f nor a subcommand says what to do.
	r = soll(t, nil, append(kube, "admin", "import", "-n", empty)...)
	wantError(t, r.err, "pass -f FILE to restore a backup written by soll admin export, or use soll admin import argocd")
}

func mustGet(t *testing.T, env *testenv.Env, ns, name string, obj client.Object) {
	t.Helper()
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		t.Fatalf("get %s/%s: %v", ns, name, err)
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
