package kustomize

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/rendertest"
)

func TestOverrides(t *testing.T) {
	tests := []struct {
		name  string
		o     sollv1.KustomizeSource
		check func(t *testing.T, m map[string]*render.Object)
	}{
		{
			name: "images replace the kustomization's entry of the same name",
			o:    sollv1.KustomizeSource{Images: []sollv1.KustomizeImage{{Name: "nginx", NewName: "ghcr.io/shop/nginx", NewTag: "2.0"}}},
			check: func(t *testing.T, m map[string]*render.Object) {
				if got := container(t, m["Deployment/web"].Unstructured)["image"]; got != "ghcr.io/shop/nginx:2.0" {
					t.Errorf("image = %v", got)
				}
			},
		},
		{
			name: "image digest",
			o:    sollv1.KustomizeSource{Images: []sollv1.KustomizeImage{{Name: "nginx", Digest: "sha256:" + strings.Repeat("ab", 32)}}},
			check: func(t *testing.T, m map[string]*render.Object) {
				if got := container(t, m["Deployment/web"].Unstructured)["image"]; got != "nginx@sha256:"+strings.Repeat("ab", 32) {
					t.Errorf("image = %v", got)
				}
			},
		},
		{
			name: "replicas",
			o:    sollv1.KustomizeSource{Replicas: []sollv1.KustomizeReplica{{Name: "web", Count: 7}}},
			check: func(t *testing.T, m map[string]*render.Object) {
				if got := field(t, m["Deployment/web"].Unstructured, "spec", "replicas"); got != int64(7) {
					t.Errorf("replicas = %v", got)
				}
			},
		},
		{
			name: "name prefix and suffix replace the kustomization's",
			o:    sollv1.KustomizeSource{NamePrefix: "eu-", NameSuffix: "-v2"},
			check: func(t *testing.T, m map[string]*render.Object) {
				if m["Deployment/eu-web-v2"] == nil {
					t.Errorf("no Deployment/eu-web-v2 in %v", keys(m))
				}
			},
		},
		{
			name: "namespace",
			o:    sollv1.KustomizeSource{Namespace: "shop-eu"},
			check: func(t *testing.T, m map[string]*render.Object) {
				for k, o := range m {
					if o.Unstructured.GetNamespace() != "shop-eu" {
						t.Errorf("%s namespace = %q", k, o.Unstructured.GetNamespace())
					}
				}
			},
		},
		{
			name: "common labels go to selectors too",
			o:    sollv1.KustomizeSource{CommonLabels: map[string]string{"region": "eu"}},
			check: func(t *testing.T, m map[string]*render.Object) {
				d := m["Deployment/web"].Unstructured
				if d.GetLabels()["region"] != "eu" {
					t.Errorf("labels = %v", d.GetLabels())
				}
				if sel := field(t, d, "spec", "selector", "matchLabels").(map[string]any); sel["region"] != "eu" {
					t.Errorf("selector = %v", sel)
				}
			},
		},
		{
			name: "common annotations",
			o:    sollv1.KustomizeSource{CommonAnnotations: map[string]string{"owner": "eu-team"}},
			check: func(t *testing.T, m map[string]*render.Object) {
				for k, o := range m {
					if o.Unstructured.GetAnnotations()["owner"] != "eu-team" {
						t.Errorf("%s annotations = %v", k, o.Unstructured.GetAnnotations())
					}
				}
			},
		},
		{
			name: "inline JSON 6902 patch with a target",
			o: sollv1.KustomizeSource{Patches: []sollv1.KustomizePatch{{
				Patch:  `[{"op": "replace", "path": "/spec/replicas", "value": 3}]`,
				Target: &sollv1.KustomizeSelector{Kind: "Deployment", Name: "^web$"},
			}}},
			check: func(t *testing.T, m map[string]*render.Object) {
				if got := field(t, m["Deployment/web"].Unstructured, "spec", "replicas"); got != int64(3) {
					t.Errorf("replicas = %v", got)
				}
			},
		},
		{
			name: "patch file relative to the application, in another directory",
			o:    sollv1.KustomizeSource{Patches: []sollv1.KustomizePatch{{Path: "../patches/rename.yaml", Options: map[string]bool{"allowNameChange": true}}}},
			check: func(t *testing.T, m map[string]*render.Object) {
				if m["Service/web-renamed"] == nil {
					t.Errorf("no Service/web-renamed in %v", keys(m))
				}
			},
		},
		{
			name: "components",
			o:    sollv1.KustomizeSource{Components: []string{"../components/monitoring"}},
			check: func(t *testing.T, m map[string]*render.Object) {
				if m["ConfigMap/scrape-config"] == nil {
					t.Errorf("component not added: %v", keys(m))
				}
			},
		},
	}
	files := maps.Clone(shop)
	// A JSON 6902 patch renames the Service, which kustomize allows only
	// with allowNameChange.
	files["patches/rename.yaml"] = "- op: replace\n  path: /metadata/name\n  value: web-renamed\n"
	root := rendertest.Repo(t, files)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			if strings.HasPrefix(tt.name, "patch file") {
				o.Patches[0].Target = &sollv1.KustomizeSelector{Kind: "Service"}
			}
			objs, err := renderApp(t, &Renderer{}, render.Request{Root: root, Path: "base", Kustomize: &o})
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]*render.Object{}
			for i, obj := range objs {
				name := obj.Unstructured.GetName()
				if i := strings.LastIndex(name, "-"); i > 0 && hashed.MatchString(name[i+1:]) {
					name = name[:i] // drop the hash of a generated object
				}
				m[obj.Unstructured.GetKind()+"/"+name] = &objs[i]
			}
			tt.check(t, m)
		})
	}

	t.Run("the snapshot is left untouched", func(t *testing.T) {
		got, err := os.ReadFile(filepath.Join(root, "base", "kustomization.yaml"))
		if err != nil || string(got) != shop["base/kustomization.yaml"] {
			t.Errorf("base/kustomization.yaml changed: %v", err)
		}
	})
}

func keys(m map[string]*render.Object) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestOverridesRefused(t *testing.T) {
	root := rendertest.Repo(t, shop)
	tests := []struct {
		name  string
		o     sollv1.KustomizeSource
		match error
		want  string
	}{
		{"patch path out of the repository", sollv1.KustomizeSource{Patches: []sollv1.KustomizePatch{{Path: "../../x.yaml"}}}, errOutside, "kustomize.patches[0]: path"},
		{"absolute patch path", sollv1.KustomizeSource{Patches: []sollv1.KustomizePatch{{Path: "/etc/passwd"}}}, ErrAbsolute, "kustomize.patches[0]"},
		{"component out of the repository", sollv1.KustomizeSource{Components: []string{"../.."}}, errOutside, "kustomize.components[0]"},
		{"remote component", sollv1.KustomizeSource{Components: []string{"github.com/org/repo/comp"}}, errRemoteField, "kustomize.components[0]"},
		{"unknown patch option", sollv1.KustomizeSource{Patches: []sollv1.KustomizePatch{{Patch: "[]", Options: map[string]bool{"force": true}}}}, nil, `unknown option "force"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderApp(t, &Renderer{}, render.Request{Root: root, Path: "base", Kustomize: &tt.o})
			checkRefused(t, err, "base/kustomization.yaml", tt.match, tt.want)
		})
	}
}

// checkRefused checks that err is a *render.Error about file, matching
// match (when not nil) and containing want.
func checkRefused(t *testing.T, err error, file string, match error, want string) {
	t.Helper()
	var re *render.Error
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want a *render.Error", err)
	}
	if re.File != file {
		t.Errorf("error names %q, want %q: %v", re.File, file, err)
	}
	if match != nil && !errors.Is(err, match) {
		t.Errorf("error = %v, want %v", err, match)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want it to contain %q", err, want)
	}
}
