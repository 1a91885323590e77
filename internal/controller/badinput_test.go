package controller_test

import (
	"archive/tar"
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/helm/helmtest"
	"soll.dev/internal/render/rendertest"
	"soll.dev/internal/testenv/gitserver"
)

// badInput is an application of the repository "bad" that must fail to
// render with an error saying why.
type badInput struct {
	name string
	// path is the application's path; files and links are under it.
	path  string
	files map[string]string
	// links are symbolic links to create, by path, with their targets.
	links  map[string]string
	source func(*sollv1.ApplicationSource)
	// want is a part of the condition's message.
	want string
}

// leftover is a manifest next to the bad input, which must never be
// applied: a render is all or nothing.
func leftover(app string) map[string]string {
	return map[string]string{"leftover.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leftover-" + app + "\n"}
}

func with(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

const chartYAML = "apiVersion: v2\nname: demo\nversion: 0.1.0\n"

// badRepositories serves a chart repository whose index never ends, and
// one whose chart archive never ends, on loopback.
func badRepositories(t *testing.T) *httptest.Server {
	endless := func(w http.ResponseWriter, r *http.Request, head string) {
		if _, err := w.Write([]byte(head)); err != nil {
			return
		}
		line := []byte(strings.Repeat("#", 1023) + "\n")
		for r.Context().Err() == nil {
			if _, err := w.Write(line); err != nil {
				return
			}
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/endless/index.yaml":
			endless(w, r, "apiVersion: v1\nentries:\n")
		case "/big/index.yaml":
			_, _ = w.Write([]byte("apiVersion: v1\nentries:\n  demo:\n  - apiVersion: v2\n    name: demo\n    version: 0.1.0\n    urls: [demo-0.1.0.tgz]\n"))
		case "/big/demo-0.1.0.tgz":
			endless(w, r, "")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBadInputFailsAlone runs one controller with an application for each
// kind of hostile or broken input a renderer meets, in a real repository on
// the Git server: each fails its render with a condition saying what is
// wrong, within the render's limits, and applies nothing; meanwhile an
// application beside them keeps syncing new revisions.
func TestBadInputFailsAlone(t *testing.T) {
	const timeout = 10 * time.Second
	h := newHarnessWith(t, harnessOptions{
		files:        map[string]string{"good/cm.yaml": configMapYAML("good", 0, map[string]string{"v": "1"})},
		renderLimits: render.Limits{Timeout: timeout, MaxMemoryBytes: 128 << 20},
	})
	repos := badRepositories(t)
	bomb, err := os.ReadFile(filepath.Join("..", "render", "manifest", "testdata", "bomb.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	chart := func(more map[string]string) map[string]string {
		return with(map[string]string{"Chart.yaml": chartYAML, "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leftover-chart\n"}, more)
	}
	archive := func(entries ...helmtest.TarEntry) string {
		return string(helmtest.MakeArchive(t, append([]helmtest.TarEntry{{Name: "sub/Chart.yaml", Body: "apiVersion: v2\nname: sub\nversion: 0.1.0\n"}}, entries...)...))
	}
	helmValues := func(files ...string) func(*sollv1.ApplicationSource) {
		return func(s *sollv1.ApplicationSource) { s.Helm = &sollv1.HelmSource{ValueFiles: files} }
	}
	chartFrom := func(repo string) func(*sollv1.ApplicationSource) {
		return func(s *sollv1.ApplicationSource) {
			s.RepoURL, s.Chart, s.TargetRevision, s.Path, s.CredentialsRef = repos.URL+repo, "demo", "0.1.0", "", nil
		}
	}
	kustomization := func(k string) map[string]string {
		return with(leftover("k"), map[string]string{"kustomization.yaml": k})
	}
	jsonnet := func(code string) map[string]string { return map[string]string{"main.jsonnet": code} }
	plugin := func(s *sollv1.ApplicationSource) { s.Plugin = &sollv1.PluginSource{Name: "cat"} }

	tests := []badInput{
		// Paths leaving the repository: "..", absolute paths, symlinks.
		{name: "helm-values-parent", files: chart(nil), source: helmValues("../../../outside.yaml"), want: `".." is not allowed`},
		{name: "helm-values-absolute", files: chart(nil), source: helmValues("/etc/hostname"), want: "absolute paths are not allowed"},
		{name: "helm-values-symlink", files: chart(nil), links: map[string]string{"leak.yaml": "/etc/hostname"}, source: helmValues("leak.yaml"), want: "resolves outside the repository"},
		{name: "kustomize-parent", files: kustomization("resources:\n- leftover.yaml\n- ../../../../outside.yaml\n"), want: "leads outside the repository"},
		{name: "kustomize-absolute", files: kustomization("resources:\n- leftover.yaml\n- /etc/hostname\n"), want: "absolute paths are refused"},
		{name: "kustomize-symlink-out", files: kustomization("resources:\n- leftover.yaml\n- leak.yaml\n"), links: map[string]string{"leak.yaml": "../../../../etc/hostname"}, want: "resolves outside the repository"},
		{name: "kustomize-symlink-loop", files: kustomization("resources:\n- leftover.yaml\n- loop.yaml\n"), links: map[string]string{"loop.yaml": "loop.yaml"}, want: "form a loop"},
		{name: "kustomize-itself", files: kustomization("resources:\n- leftover.yaml\n- ../kustomize-itself\n"), want: "in a cycle"},
		{name: "jsonnet-parent", files: jsonnet("import '../../../../outside.libsonnet'"), want: `".." is not allowed`},
		{name: "jsonnet-absolute", files: jsonnet("importstr '/etc/hostname'"), want: "absolute paths are not allowed"},
		{name: "jsonnet-symlink", files: jsonnet("import 'leak.libsonnet'"), links: map[string]string{"leak.libsonnet": "/etc/hostname"}, want: "resolves outside the repository"},
		{name: "plugin-parent", path: "bad/plugin-parent/../../../etc", source: plugin, want: `".." is not allowed`},
		{name: "plugin-symlink", path: "bad/plugin-symlink/out", links: map[string]string{"out": "/etc"}, source: plugin, want: "resolves outside the repository"},
		{name: "directory-absolute", files: leftover("d"), source: func(s *sollv1.ApplicationSource) {
			s.Directory = &sollv1.DirectorySource{Include: []string{"/etc/*"}}
		}, want: "relative"},
		// Charts: archives beyond the limits or with entries out, and
		// repositories that never stop sending.
		{name: "helm-archive-expands", files: chart(map[string]string{"charts/sub-0.1.0.tgz": archive(helmtest.TarEntry{Name: "sub/files/zeros", Size: 40 << 20})}), want: "MaxTotalBytes"},
		{name: "helm-archive-parent", files: chart(map[string]string{"charts/sub-0.1.0.tgz": archive(helmtest.TarEntry{Name: "sub/../../evil.yaml", Body: "x"})}), want: "entry with a .. element"},
		{name: "helm-archive-symlink", files: chart(map[string]string{"charts/sub-0.1.0.tgz": archive(helmtest.TarEntry{Name: "sub/templates/x.yaml", Type: tar.TypeSymlink, Linkname: "/etc/passwd"})}), want: "symlink"},
		{name: "helm-archive-download", source: chartFrom("/big"), want: "MaxChartBytes"},
		{name: "helm-index-endless", source: chartFrom("/endless"), want: "MaxIndexBytes"},
		// Work without end.
		{name: "kustomize-helm-off", files: kustomization("helmCharts:\n- name: demo\n"), want: "enableHelm"},
		{name: "helm-template-endless", files: chart(map[string]string{"templates/loop.yaml": "{{ range until 1000000 }}{{ range until 1000000 }}{{ end }}{{ end }}\n"}), want: "took longer than 10s"},
		{name: "jsonnet-endless", files: jsonnet("local f(n) = if n == 0 then 1 else f(n - 1) + f(n - 1);\nf(60)"), want: "took longer than 10s"},
		{name: "jsonnet-memory", files: jsonnet("std.length(std.range(1, 1e9))"), want: "needed more than 128 MiB of memory"},
		// Size.
		{name: "directory-50mb", files: with(leftover("d"), map[string]string{"big.yaml": strings.Repeat("# 50 MB of comments, refused on its size\n", 50<<20/40)}), want: "above the 8 MiB limit per file"},
		{name: "directory-alias-bomb", files: with(leftover("d"), map[string]string{"bomb.yaml": string(bomb)}), want: "alias"},
		// Objects soll cannot apply as written.
		{name: "directory-duplicate", files: with(leftover("dup"), map[string]string{
			"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\n",
			"b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\n",
		}), want: "twice is defined twice: in bad/directory-duplicate/a.yaml:1 (document 1) and in bad/directory-duplicate/b.yaml:6 (document 2)"},
		{name: "directory-generatename", files: with(leftover("gen"), map[string]string{
			"job.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: not-a-hook-\n",
		}), want: "job.yaml:1: not a Kubernetes object: metadata.name is missing: generateName is allowed on hooks only"},
	}

	// The bad repository, symlinks included, as a fixture directory.
	dir := t.TempDir()
	for _, tt := range tests {
		app := filepath.Join(dir, "bad", tt.name)
		if err := os.MkdirAll(app, 0o755); err != nil {
			t.Fatal(err)
		}
		rendertest.WriteFiles(t, app, tt.files)
		for name, target := range tt.links {
			if err := os.Symlink(target, filepath.Join(app, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.git.CreateRepo(t, "bad", dir)

	auto := &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{Prune: true}}
	h.createAppNamed("good", "good", func(a *sollv1.Application) { a.Spec.SyncPolicy = auto })
	for _, tt := range tests {
		path := tt.path
		if path == "" {
			path = "bad/" + tt.name
		}
		h.createAppNamed(tt.name, path, func(a *sollv1.Application) {
			a.Spec.Source.RepoURL = h.git.HTTPURL("bad")
			a.Spec.SyncPolicy = auto
			if tt.source != nil {
				tt.source(a.Spec.Source)
			}
		})
	}
	h.waitForApp("good", "the good app synced", 2*time.Minute, syncedHealthy)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := h.waitForApp(tt.name, "a render error", 3*time.Minute, func(a *sollv1.Application) bool {
				c := comparisonFailure(a)
				return c != nil && c.Reason == "RenderError"
			})
			msg := comparisonFailure(app).Message
			t.Log(msg)
			if !strings.Contains(msg, tt.want) {
				t.Errorf("condition %q does not say %q", msg, tt.want)
			}
			if len(msg) > 4<<10 {
				t.Errorf("condition message is %d bytes long", len(msg))
			}
			if app.Status.OperationState != nil {
				t.Errorf("an operation ran: %s", describe(app))
			}
		})
	}

	// The good app still follows its repository.
	h.git.Commit(t, h.repo, gitserver.DefaultBranch, gitserver.Change{Message: "good v2", Files: map[string]string{
		"good/cm.yaml": configMapYAML("good", 0, map[string]string{"v": "2"}),
	}})
	h.settle("good", "normal")
	h.waitForApp("good", "the good app synced its new revision", 2*time.Minute, func(a *sollv1.Application) bool {
		return syncedHealthy(a) && h.configMap("good").Data["v"] == "2"
	})
	cms, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		if strings.HasPrefix(cm.Name, "leftover-") {
			t.Errorf("ConfigMap %s of a failed render was applied", cm.Name)
		}
	}
	if _, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(context.Background(), "good", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		t.Error("the good app's ConfigMap is gone")
	}
}
