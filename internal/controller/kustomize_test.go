package controller_test

import (
	"strings"
	"testing"
	"time"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render/helm/helmtest"
	"soll.dev/internal/testenv/gitserver"
)

// TestKustomizeRemoteBase deploys an overlay whose base lives in a second
// repository of the Git server, fetched by soll itself with the
// credentials registered for that repository, when the Project allows
// remote bases; a Project that does not, or whose sourceRepos do not list
// the base's repository, refuses it with a condition naming its field.
func TestKustomizeRemoteBase(t *testing.T) {
	h := newHarness(t)
	h.git.CreateRepo(t, "shared", "")
	h.git.Commit(t, "shared", gitserver.DefaultBranch, gitserver.Change{Message: "base", Files: map[string]string{
		"bases/web/kustomization.yaml":    "resources:\n- cm.yaml\n- ../common\n",
		"bases/web/cm.yaml":               "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  from: shared\n",
		"bases/common/kustomization.yaml": "resources:\n- cm.yaml\n",
		"bases/common/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: common\n",
	}})
	base := h.git.HTTPURL("shared") + "//bases/web?ref=" + gitserver.DefaultBranch
	h.git.Commit(t, h.repo, gitserver.DefaultBranch, gitserver.Change{Message: "overlay", Files: map[string]string{
		"overlay/kustomization.yaml": "namePrefix: prod-\nresources:\n- " + base + "\n",
	}})
	// The base's repository is found by its URL, like any source's.
	mustCreate(t, h, credentialTemplate(h.sollNS, h.git.URL, "ci", "s3cret-git-password"))
	mustCreate(t, h, newProject(h.sollNS, "remote", func(s *sollv1.ProjectSpec) { s.AllowRemoteKustomizeBases = true }))
	mustCreate(t, h, newProject(h.sollNS, "local", nil))
	mustCreate(t, h, newProject(h.sollNS, "narrow", func(s *sollv1.ProjectSpec) {
		s.AllowRemoteKustomizeBases = true
		s.SourceRepos = []string{h.git.HTTPURL(h.repo)}
	}))
	for _, p := range []string{"remote", "local", "narrow"} {
		h.createAppNamed(p, "overlay", func(a *sollv1.Application) {
			a.Spec.Project = p
			a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
		})
	}

	h.waitForApp("remote", "synced from the remote base", 2*time.Minute, syncedHealthy)
	if cm := h.configMap("prod-web"); cm.Data["from"] != "shared" {
		t.Errorf("ConfigMap prod-web = %v, want the base's data", cm.Data)
	}
	h.configMap("prod-common") // the base's own relative base

	msg := comparisonError(h, "local")
	t.Log(msg)
	if !strings.Contains(msg, "spec.allowRemoteKustomizeBases") || !strings.Contains(msg, "overlay/kustomization.yaml") {
		t.Errorf("project without remote bases: condition %q does not name the project field and the kustomization", msg)
	}
	msg = comparisonError(h, "narrow")
	t.Log(msg)
	if !strings.Contains(msg, h.git.HTTPURL("shared")) || !strings.Contains(msg, "spec.sourceRepos") {
		t.Errorf("base's repository not in sourceRepos: condition %q does not name it and the project field", msg)
	}
	if strings.Contains(msg, "s3cret-git-password") {
		t.Errorf("condition %q shows the repository password", msg)
	}

	// A new commit of the base shows at the next refresh, which lists the
	// base's repository's refs again too; the app's own revision is the
	// same, so automated sync leaves it to a sync by hand (or selfHeal).
	h.git.Commit(t, "shared", gitserver.DefaultBranch, gitserver.Change{Message: "base v2", Files: map[string]string{
		"bases/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  from: shared-v2\n",
	}})
	h.settle("remote", "normal")
	h.waitForApp("remote", "out of sync with the base's new commit", time.Minute, func(a *sollv1.Application) bool {
		rs := resourceStatus(a, "ConfigMap", "prod-web")
		return rs != nil && rs.Status == sollv1.SyncStatusOutOfSync
	})
	h.requestSyncOf("remote")
	h.waitForApp("remote", "synced at the base's new commit", 2*time.Minute, func(a *sollv1.Application) bool {
		return syncedHealthy(a) && h.configMap("prod-web").Data["from"] == "shared-v2"
	})
}

// TestKustomizeHelmCharts deploys a kustomization whose helmCharts list a
// chart of the repository and one of a chart repository that needs the
// credentials registered for it, when the source enables them; a Project
// whose sourceRepos do not list the chart repository refuses it.
func TestKustomizeHelmCharts(t *testing.T) {
	chart := func(name string) map[string]string {
		return map[string]string{
			"Chart.yaml":        "apiVersion: v2\nname: " + name + "\nversion: 1.0.0\n",
			"values.yaml":       "size: small\n",
			"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  size: {{ .Values.size | quote }}\n",
		}
	}
	archive, _ := helmtest.PackageChart(t, chart("cache"))
	charts := helmtest.NewRepo(t, true, archive)
	charts.User, charts.Password = "charts", "s3cret-chart-password"
	files := map[string]string{
		"shop/kustomization.yaml": "commonLabels: {team: shop}\nhelmCharts:\n- name: web\n  valuesInline: {size: large}\n" +
			"- name: cache\n  repo: " + charts.URL + "\n  version: 1.0.0\n",
	}
	for name, content := range chart("web") {
		files["shop/charts/web/"+name] = content
	}
	h := newHarnessWith(t, harnessOptions{files: files})
	creds := credentialTemplate(h.sollNS, charts.URL, "charts", "s3cret-chart-password")
	creds.StringData["caCert"] = string(helmtest.CAPEM(charts.Server))
	mustCreate(t, h, creds)
	mustCreate(t, h, newProject(h.sollNS, "narrow", func(s *sollv1.ProjectSpec) { s.SourceRepos = []string{h.git.HTTPURL(h.repo)} }))
	enable := func(project string) func(*sollv1.Application) {
		return func(a *sollv1.Application) {
			a.Spec.Project = project
			a.Spec.Source.Kustomize = &sollv1.KustomizeSource{EnableHelm: true}
			a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
		}
	}
	h.createAppNamed("shop", "shop", enable(""))
	h.createAppNamed("narrow", "shop", enable("narrow"))

	h.waitForApp("shop", "synced with both charts", 2*time.Minute, syncedHealthy)
	for name, size := range map[string]string{"web": "large", "cache": "small"} {
		cm := h.configMap(name)
		if cm.Data["size"] != size || cm.Labels["team"] != "shop" {
			t.Errorf("ConfigMap %s: data %v, labels %v; want size %s and the kustomization's label", name, cm.Data, cm.Labels, size)
		}
	}
	msg := comparisonError(h, "narrow")
	t.Log(msg)
	if !strings.Contains(msg, charts.URL) || !strings.Contains(msg, "helmCharts") || !strings.Contains(msg, "spec.sourceRepos") {
		t.Errorf("chart repository not in sourceRepos: condition %q does not name it, helmCharts and the project field", msg)
	}
}
