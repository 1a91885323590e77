//go:build unix

package kustomize

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/rendertest"
)

const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n"

func TestRefused(t *testing.T) {
	bomb, err := os.ReadFile("../manifest/testdata/bomb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const kfile = "apps/demo/kustomization.yaml"
	tests := []struct {
		name   string
		files  map[string]string // under apps/demo
		setup  func(t *testing.T, root string)
		limits render.Limits
		file   string // the file the error names; kfile when empty
		match  error
		want   string
	}{
		{
			name:  "resource climbing out with ..",
			files: map[string]string{"kustomization.yaml": "resources:\n- ../../../outside.yaml\n"},
			match: errOutside, want: `resources: "../../../outside.yaml"`,
		},
		{
			name:  "base climbing out with ..",
			files: map[string]string{"kustomization.yaml": "resources:\n- ../../..\n"},
			match: errOutside,
		},
		{
			name:  "absolute path",
			files: map[string]string{"kustomization.yaml": "resources:\n- /etc/passwd\n"},
			match: ErrAbsolute, want: `"/etc/passwd"`,
		},
		{
			name:  "generator file climbing out",
			files: map[string]string{"kustomization.yaml": "configMapGenerator:\n- name: x\n  files:\n  - key=../../../secret.txt\n"},
			match: errOutside,
		},
		{
			name:  "symlink out",
			files: map[string]string{"kustomization.yaml": "resources:\n- leak.yaml\n"},
			setup: func(t *testing.T, root string) {
				outside := filepath.Join(t.TempDir(), "leak.yaml")
				if err := os.WriteFile(outside, []byte(configMap), 0o644); err != nil {
					t.Fatal(err)
				}
				rendertest.Symlink(t, outside, filepath.Join(root, "apps/demo/leak.yaml"))
			},
			file: "apps/demo/leak.yaml", match: confine.ErrEscape,
		},
		{
			name:  "base symlinked out",
			files: map[string]string{"kustomization.yaml": "resources:\n- base\n"},
			setup: func(t *testing.T, root string) {
				outside := t.TempDir()
				rendertest.WriteFiles(t, outside, map[string]string{"kustomization.yaml": "resources:\n- cm.yaml\n", "cm.yaml": configMap})
				rendertest.Symlink(t, outside, filepath.Join(root, "apps/demo/base"))
			},
			file: "apps/demo/base", match: confine.ErrEscape,
		},
		{
			name:  "symlink loop",
			files: map[string]string{"kustomization.yaml": "resources:\n- loop.yaml\n"},
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, "loop.yaml", filepath.Join(root, "apps/demo/loop.yaml"))
			},
			file: "apps/demo/loop.yaml", match: confine.ErrLoop,
		},
		{
			name:  "directory symlink loop",
			files: map[string]string{"kustomization.yaml": "resources:\n- sub\n- cm.yaml\n", "cm.yaml": configMap},
			setup: func(t *testing.T, root string) { rendertest.Symlink(t, ".", filepath.Join(root, "apps/demo/sub")) },
			file:  "-", match: confine.ErrLoop,
		},
		{
			name:  "remote base over https",
			files: map[string]string{"kustomization.yaml": "resources:\n- https://github.com/org/repo//deploy?ref=v1\n"},
			match: ErrRemote, want: `resources: "https://github.com/org/repo//deploy?ref=v1"`,
		},
		{
			name:  "remote base on github",
			files: map[string]string{"kustomization.yaml": "resources:\n- github.com/org/repo/deploy?ref=v1\n"},
			match: ErrRemote,
		},
		{
			name:  "remote base over ssh with credentials redacted",
			files: map[string]string{"kustomization.yaml": "components:\n- ssh://me:hunter2@git.example.com/repo.git\n"},
			match: ErrRemote, want: "redacted",
		},
		{
			name:  "scp-like git base",
			files: map[string]string{"kustomization.yaml": "bases:\n- git@github.com:org/repo.git\n"},
			match: ErrRemote,
		},
		{
			name:  "remote file",
			files: map[string]string{"kustomization.yaml": "resources:\n- https://example.com/deploy.yaml\n"},
			match: errNotGit, want: "soll fetches remote bases from Git only",
		},
		{
			name:  "remote patch file",
			files: map[string]string{"kustomization.yaml": "resources:\n- cm.yaml\npatches:\n- path: http://example.com/p.yaml\n", "cm.yaml": configMap},
			match: errRemoteField,
		},
		{
			name:  "helmCharts",
			files: map[string]string{"kustomization.yaml": "helmCharts:\n- name: redis\n  repo: https://charts.example.com\n"},
			match: ErrHelm, want: "set spec.source.kustomize.enableHelm to true",
		},
		{
			name: "Helm chart generator in a file",
			files: map[string]string{
				"kustomization.yaml": "generators:\n- helm.yaml\n",
				"helm.yaml":          "apiVersion: builtin\nkind: HelmChartInflationGenerator\nmetadata:\n  name: x\nchartName: redis\n",
			},
			file: "apps/demo/helm.yaml", match: errHelmGenerator,
		},
		{
			name: "exec KRM function transformer",
			files: map[string]string{
				"kustomization.yaml": "resources:\n- cm.yaml\ntransformers:\n- fn.yaml\n",
				"cm.yaml":            configMap,
				"fn.yaml": "apiVersion: example.com/v1\nkind: Injector\nmetadata:\n  name: x\n  annotations:\n" +
					"    config.kubernetes.io/function: |\n      exec:\n        path: ./inject.sh\n",
			},
			match: ErrPlugin, want: "Injector",
		},
		{
			name: "inline container function generator",
			files: map[string]string{"kustomization.yaml": "generators:\n- |\n  apiVersion: example.com/v1\n  kind: Gen\n  metadata:\n    name: x\n" +
				"    annotations:\n      config.kubernetes.io/function: |\n        container:\n          image: evil\n"},
			match: ErrPlugin, want: "generators: Gen",
		},
		{
			name:  "kustomization including itself",
			files: map[string]string{"kustomization.yaml": "resources:\n- ../demo\n"},
			want:  "cycle",
		},
		{
			name:  "two kustomizations including each other",
			files: map[string]string{"kustomization.yaml": "resources:\n- ../other\n"},
			setup: func(t *testing.T, root string) {
				rendertest.WriteFiles(t, root, map[string]string{"apps/other/kustomization.yaml": "resources:\n- ../demo\n"})
			},
			want: "cycle",
		},
		{
			name:  "50 MiB resource",
			files: map[string]string{"kustomization.yaml": "resources:\n- big.yaml\n"},
			setup: func(t *testing.T, root string) {
				f, err := os.Create(filepath.Join(root, "apps/demo/big.yaml"))
				if err != nil {
					t.Fatal(err)
				}
				if err := f.Truncate(50 << 20); err != nil { // sparse
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
			},
			file: "apps/demo/big.yaml", match: &render.LimitError{Limit: render.LimitFileBytes}, want: "50 MiB",
		},
		{
			name:  "YAML alias bomb",
			files: map[string]string{"kustomization.yaml": "resources:\n- bomb.yaml\n", "bomb.yaml": string(bomb)},
			file:  "apps/demo/bomb.yaml", match: &render.LimitError{Limit: render.LimitAliasNodes},
		},
		{
			name:   "tiny timeout",
			files:  map[string]string{"kustomization.yaml": "resources:\n- cm.yaml\n", "cm.yaml": configMap},
			limits: render.Limits{Timeout: time.Nanosecond},
			file:   "-", match: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			rendertest.WriteFiles(t, filepath.Join(root, "apps/demo"), tt.files)
			if tt.setup != nil {
				tt.setup(t, root)
			}
			_, err := renderApp(t, &Renderer{Limits: tt.limits}, render.Request{Root: root, Path: "apps/demo"})
			file := tt.file
			if file == "" {
				file = kfile
			}
			var le *render.LimitError
			if errors.As(tt.match, &le) {
				var got *render.LimitError
				if !errors.As(err, &got) || got.Limit != le.Limit {
					t.Errorf("error = %v, want the limit %s", err, le.Limit)
				}
				tt.match = nil
			}
			if file == "-" { // any file
				var re *render.Error
				if errors.As(err, &re) {
					file = re.File
				}
			}
			t.Log(err)
			checkRefused(t, err, file, tt.match, tt.want)
			if strings.Contains(err.Error(), root) {
				t.Errorf("error shows the snapshot's location: %v", err)
			}
		})
	}
}

// TestNoChildProcess runs renders that kustomize would answer by running
// git or helm with an empty PATH: the errors must be soll's refusals, not
// failures to find a program.
func TestNoChildProcess(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for name, k := range map[string]string{
		"git":  "resources:\n- github.com/org/repo/deploy?ref=v1\n",
		"helm": "helmCharts:\n- name: redis\n  repo: https://charts.example.com\n",
	} {
		t.Run(name, func(t *testing.T) {
			root := rendertest.Repo(t, map[string]string{"app/kustomization.yaml": k})
			_, err := renderApp(t, &Renderer{}, render.Request{Root: root, Path: "app"})
			if !errors.Is(err, ErrRemote) && !errors.Is(err, ErrHelm) {
				t.Errorf("error = %v, want a refusal", err)
			}
			if strings.Contains(err.Error(), "executable") || strings.Contains(err.Error(), "not found") {
				t.Errorf("a program was looked for: %v", err)
			}
		})
	}
}

// slowDecrypter blocks every decryption until ctx ends, so that a build is
// still running when the render's timeout fires.
type slowDecrypter struct{}

func (slowDecrypter) Decrypt(ctx context.Context, path string, data []byte) ([]byte, bool, error) {
	<-ctx.Done()
	return nil, false, ctx.Err()
}

func TestTimeoutDuringBuild(t *testing.T) {
	root := rendertest.Repo(t, map[string]string{"app/kustomization.yaml": "resources:\n- cm.yaml\n", "app/cm.yaml": configMap})
	r := &Renderer{Limits: render.Limits{Timeout: 50 * time.Millisecond}}
	start := time.Now()
	_, err := renderApp(t, r, render.Request{Root: root, Path: "app", Decrypter: slowDecrypter{}})
	var le *render.LimitError
	if !errors.As(err, &le) || le.Limit != render.LimitTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("render took %v", d)
	}
}

// TestWritesRefused checks that the file system never writes.
func TestWritesRefused(t *testing.T) {
	root := t.TempDir()
	r, err := confine.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f := newFileSystem(context.Background(), r, render.NewBudget(render.Limits{}), render.Request{})
	for name, err := range map[string]error{
		"WriteFile": f.WriteFile(filepath.Join(root, "x"), []byte("x")),
		"MkdirAll":  f.MkdirAll(filepath.Join(root, "d")),
		"RemoveAll": f.RemoveAll(root),
	} {
		if !errors.Is(err, errReadOnly) {
			t.Errorf("%s = %v, want %v", name, err, errReadOnly)
		}
	}
	if _, err := f.ReadFile("/etc/passwd"); !errors.Is(err, errOutside) {
		t.Errorf("ReadFile(/etc/passwd) = %v, want %v", err, errOutside)
	}
	entries, err := os.ReadDir(root)
	if err != nil || len(entries) != 0 {
		t.Errorf("the root holds %v, %v", entries, err)
	}
}
