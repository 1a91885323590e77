package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/argoimport"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestImportArgoCDConvertsAppOfApps converts a directory of Argo CD
// Applications, as an app of apps keeps them in Git, with --output-dir:
// each file is written to the same path, its Applications converted and
// its other objects kept; existing files are kept unless --overwrite.
func TestImportArgoCDConvertsAppOfApps(t *testing.T) {
	in, out := t.TempDir(), filepath.Join(t.TempDir(), "apps")
	app := func(name string) string {
		return "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: " + name + "\n  namespace: argocd\n" +
			"  annotations:\n    argocd.argoproj.io/sync-wave: \"1\"\n  finalizers: [resources-finalizer.argocd.argoproj.io]\n" +
			"spec:\n  project: platform\n  source:\n    repoURL: https://git.example.com/platform.git\n    path: " + name + "\n    targetRevision: main\n" +
			"  destination:\n    server: https://kubernetes.default.svc\n    namespace: " + name + "\n" +
			"  syncPolicy:\n    automated: {prune: true}\n"
	}
	writeFiles(t, in, map[string]string{
		"ingress.yaml":          app("ingress"),
		"monitoring/apps.yaml":  app("prometheus") + "---\n" + app("grafana"),
		"monitoring/ns.yaml":    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n",
		"monitoring/token.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n  namespace: monitoring\nstringData:\n  token: fake-token-in-git\n",
		"README.md":             "# apps\n",
		".git/config":           "[core]\n",
	})
	args := []string{"admin", "import", "argocd", "-f", in, "--output-dir", out, "-n", "cd", "--keep-sync-policy"}
	r := soll(t, nil, args...)
	if r.err != nil {
		t.Fatalf("import: %v", r.err)
	}
	wantContains(t, "report", r.errOut, "Application argocd/grafana ("+filepath.Join(in, "monitoring", "apps.yaml")+") -> Application cd/grafana")

	b, err := os.ReadFile(filepath.Join(out, "monitoring", "apps.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := argoimport.Decode(strings.NewReader(string(b)))
	if err != nil || len(docs) != 2 {
		t.Fatalf("monitoring/apps.yaml: %d documents, %v:\n%s", len(docs), err, b)
	}
	for i, name := range []string{"prometheus", "grafana"} {
		y, _ := yaml.Marshal(docs[i])
		var a sollv1.Application
		if err := yaml.UnmarshalStrict(y, &a); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, y)
		}
		if a.APIVersion != "soll.dev/v1alpha1" || a.Name != name || a.Namespace != "cd" || a.Spec.Source.Path != name ||
			a.Annotations["argocd.argoproj.io/sync-wave"] != "1" || len(a.Finalizers) != 1 || a.Finalizers[0] != sollv1.ResourcesFinalizer {
			t.Errorf("converted %s:\n%s", name, y)
		}
		if auto := a.Spec.SyncPolicy.Automated; auto == nil || auto.Enabled != nil || !auto.Prune {
			t.Errorf("%s: --keep-sync-policy did not keep automated sync: %+v", name, auto)
		}
	}
	if b, err := os.ReadFile(filepath.Join(out, "monitoring", "ns.yaml")); err != nil || string(b) != "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n" {
		t.Errorf("monitoring/ns.yaml was not kept as it is: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "monitoring", "token.yaml")); err != nil || strings.Contains(string(b), "fake-token-in-git") || !strings.Contains(string(b), "token: '"+argoimport.Mask+"'") {
		t.Errorf("monitoring/token.yaml, a Secret kept as it is, is not masked: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(out, "ingress.yaml")); err != nil {
		t.Error(err)
	}
	for _, f := range []string{"README.md", ".git"} {
		if _, err := os.Stat(filepath.Join(out, f)); !os.IsNotExist(err) {
			t.Errorf("%s was written: %v", f, err)
		}
	}

	r = soll(t, nil, args...)
	if r.err == nil || !strings.Contains(r.err.Error(), "--overwrite") {
		t.Errorf("import into a written directory: %v, want an error naming --overwrite", r.err)
	}
	if r = soll(t, nil, append(args, "--overwrite")...); r.err != nil {
		t.Errorf("import --overwrite: %v", r.err)
	}
}

// TestImportArgoCDDryRunMasksSecrets prints the converted Secrets with
// masks, and with their values only when asked; the report goes to the
// file named, in the format its extension says.
func TestImportArgoCDDryRunMasksSecrets(t *testing.T) {
	dir := t.TempDir()
	const password = "fake-secret-value-3"
	writeFiles(t, dir, map[string]string{"repo.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: repo\n  namespace: argocd\n" +
		"  labels:\n    argocd.argoproj.io/secret-type: repository\nstringData:\n  url: https://git.example.com/a.git\n  password: " + password + "\n  proxy: http://proxy:3128\n"})
	report := filepath.Join(dir, "report.yaml")
	base := []string{"admin", "import", "argocd", "-f", filepath.Join(dir, "repo.yaml"), "--dry-run"}
	r := soll(t, nil, append(base, "--report", report)...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if strings.Contains(r.out+r.errOut, password) || !strings.Contains(r.out, "password: '"+argoimport.Mask+"'") {
		t.Errorf("--dry-run without --show-secrets:\n%s", r.out)
	}
	var rep argoimport.Report
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, &rep); err != nil || len(rep.Objects) != 1 || len(rep.Objects[0].Notes) != 1 || rep.Objects[0].Notes[0].Field != "data.proxy" {
		t.Errorf("report %s: %v\n%s", report, err, b)
	}
	if strings.Contains(string(b), password) {
		t.Errorf("the report shows the password:\n%s", b)
	}
	wantContains(t, "stderr with --report", r.errOut, "report written to "+report+": 1 fields without equivalent")

	r = soll(t, nil, append(base, "--show-secrets")...)
	// Secret data is base64 in YAML.
	if r.err != nil || !strings.Contains(r.out, "password: ZmFrZS1zZWNyZXQtdmFsdWUtMw==") {
		t.Errorf("--dry-run --show-secrets: %v\n%s", r.err, r.out)
	}

	if r = soll(t, nil, append(base, "--report", filepath.Join(dir, "report.html"))...); r.err == nil || !strings.Contains(r.err.Error(), ".md") {
		t.Errorf("--report report.html: %v, want an error naming the formats", r.err)
	}
	if r = soll(t, nil, "admin", "import", "argocd", "-f", filepath.Join(dir, "nope.yaml"), "--dry-run"); r.err == nil {
		t.Error("a missing file gives no error")
	}
}
