//go:build unix

package kustomize

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/rendertest"
)

func TestParseRemote(t *testing.T) {
	tests := []struct {
		in   string
		want Remote
		err  string
	}{
		{in: "https://git.example.com/org/repo.git//deploy/base?ref=v1",
			want: Remote{RepoURL: "https://git.example.com/org/repo.git", Path: "deploy/base", Ref: "v1"}},
		{in: "https://git.example.com/org/repo//deploy?ref=main&timeout=90s",
			want: Remote{RepoURL: "https://git.example.com/org/repo", Path: "deploy", Ref: "main"}},
		{in: "http://127.0.0.1:8080/shared.git",
			want: Remote{RepoURL: "http://127.0.0.1:8080/shared.git", Path: "."}},
		{in: "https://git.example.com/org/repo.git/deploy?version=v2",
			want: Remote{RepoURL: "https://git.example.com/org/repo.git", Path: "deploy", Ref: "v2"}},
		{in: "github.com/org/repo/deploy/prod?ref=v1",
			want: Remote{RepoURL: "https://github.com/org/repo", Path: "deploy/prod", Ref: "v1"}},
		{in: "https://github.com/org/repo//deploy?ref=v1",
			want: Remote{RepoURL: "https://github.com/org/repo", Path: "deploy", Ref: "v1"}},
		{in: "git@github.com:org/repo.git//deploy?ref=v1",
			want: Remote{RepoURL: "git@github.com:org/repo.git", Path: "deploy", Ref: "v1"}},
		{in: "ssh://git@git.example.com/org/repo.git//deploy",
			want: Remote{RepoURL: "ssh://git@git.example.com/org/repo.git", Path: "deploy"}},
		{in: "git::https://dev.azure.com/org/project/_git/repo/deploy?ref=main",
			want: Remote{RepoURL: "https://dev.azure.com/org/project/_git/repo", Path: "deploy", Ref: "main"}},
		{in: "https://example.com/deploy.yaml", err: "Git only"},
		{in: "https://git.example.com/org/repo.git//../../etc", err: "leaves the repository"},
		{in: "file:///etc/kubernetes//x", err: "controller's disk"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRemote(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseRemote = %+v, %v; want an error saying %q", got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ParseRemote = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// remoteFixture is an application whose overlay uses a remote base, and
// the snapshot of the base's repository.
func remoteFixture(t *testing.T) (app, shared string) {
	t.Helper()
	app = rendertest.Repo(t, map[string]string{
		"apps/web/kustomization.yaml": "namePrefix: prod-\nresources:\n- https://git.example.com/shared.git//bases/web?ref=v1\n- cm.yaml\n",
		"apps/web/cm.yaml":            strings.Replace(configMap, "name: cm", "name: local", 1),
	})
	shared = rendertest.Repo(t, map[string]string{
		// The base reaches a sibling directory of its own repository.
		"bases/web/kustomization.yaml":    "resources:\n- ../common\n- deploy.yaml\n",
		"bases/web/deploy.yaml":           "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
		"bases/common/kustomization.yaml": "resources:\n- cm.yaml\n",
		"bases/common/cm.yaml":            configMap,
	})
	return app, shared
}

const sharedKey = "https://git.example.com/shared.git?ref=v1"

// TestRemoteBase renders a remote base from the snapshot the caller
// fetched: its own relative paths work inside its repository, and the
// overlay's transformers apply to it.
func TestRemoteBase(t *testing.T) {
	app, shared := remoteFixture(t)
	objs, err := renderApp(t, &Renderer{}, render.Request{Root: app, Path: "apps/web", Remotes: map[string]string{sharedKey: shared}})
	if err != nil {
		t.Fatal(err)
	}
	got := names(objs)
	slices.Sort(got)
	if want := []string{"ConfigMap/prod-cm", "ConfigMap/prod-local", "Deployment/prod-web"}; !slices.Equal(got, want) {
		t.Errorf("objects = %v, want %v", got, want)
	}
}

func TestRemoteBaseRefused(t *testing.T) {
	tests := []struct {
		name    string
		remotes bool                                   // whether the base was fetched
		setup   func(t *testing.T, app, shared string) // changes the fixture
		match   error
		file    string
		want    string
	}{
		{
			name:  "not fetched: the Project does not allow remote bases",
			match: ErrRemote, file: "apps/web/kustomization.yaml",
			want: `resources: "https://git.example.com/shared.git//bases/web?ref=v1": remote bases are fetched only for applications whose Project allows them (spec.allowRemoteKustomizeBases)`,
		},
		{
			name: "another revision than the one fetched", remotes: true,
			setup: func(t *testing.T, app, _ string) {
				rendertest.WriteFiles(t, app, map[string]string{"apps/web/kustomization.yaml": "resources:\n- https://git.example.com/shared.git//bases/web?ref=v2\n"})
			},
			match: ErrRemote, want: "not fetched",
		},
		{
			name: "base climbing out of its repository", remotes: true,
			setup: func(t *testing.T, _, shared string) {
				rendertest.WriteFiles(t, shared, map[string]string{"bases/web/kustomization.yaml": "resources:\n- ../../../outside\n"})
			},
			match: errOutside, file: "https://git.example.com/shared.git//bases/web/kustomization.yaml?ref=v1",
		},
		{
			name: "symlink out of the base's repository", remotes: true,
			setup: func(t *testing.T, _, shared string) {
				outside := filepath.Join(t.TempDir(), "deploy.yaml")
				if err := os.WriteFile(outside, []byte(configMap), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Remove(filepath.Join(shared, "bases/web/deploy.yaml")); err != nil {
					t.Fatal(err)
				}
				rendertest.Symlink(t, outside, filepath.Join(shared, "bases/web/deploy.yaml"))
			},
			match: confine.ErrEscape, file: "https://git.example.com/shared.git//bases/web/deploy.yaml?ref=v1",
		},
		{
			name: "remote file", remotes: true,
			setup: func(t *testing.T, app, _ string) {
				rendertest.WriteFiles(t, app, map[string]string{"apps/web/kustomization.yaml": "resources:\n- https://raw.example.com/deploy.yaml\n"})
			},
			match: errNotGit,
		},
		{
			name: "credentials in the URL are not shown",
			setup: func(t *testing.T, app, _ string) {
				rendertest.WriteFiles(t, app, map[string]string{"apps/web/kustomization.yaml": "resources:\n- https://me:hunter2@git.example.com/shared.git//bases/web\n"})
			},
			match: ErrRemote, want: "redacted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, shared := remoteFixture(t)
			if tt.setup != nil {
				tt.setup(t, app, shared)
			}
			req := render.Request{Root: app, Path: "apps/web"}
			if tt.remotes {
				req.Remotes = map[string]string{sharedKey: shared}
			}
			_, err := renderApp(t, &Renderer{}, req)
			if !errors.Is(err, tt.match) {
				t.Fatalf("error = %v, want %v", err, tt.match)
			}
			var re *render.Error
			if tt.file != "" && (!errors.As(err, &re) || re.File != tt.file) {
				t.Errorf("error %v names the file %q, want %q", err, re.File, tt.file)
			}
			msg := err.Error()
			for _, leak := range []string{app, shared, "hunter2"} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q shows %q", msg, leak)
				}
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not say %q", msg, tt.want)
			}
		})
	}
}

// fakeRemotes serves snapshots of remote bases from directories, by
// Remote.Key, and records what was fetched.
type fakeRemotes struct {
	dirs    map[string]string
	fetched []string
}

func (f *fakeRemotes) fetch(_ context.Context, r Remote) (string, error) {
	f.fetched = append(f.fetched, r.Key())
	dir, ok := f.dirs[r.Key()]
	if !ok {
		return "", errors.New("no such repository")
	}
	return dir, nil
}

func TestResolver(t *testing.T) {
	app, shared := remoteFixture(t)
	// The shared base has a remote base of its own, and a chart.
	rendertest.WriteFiles(t, shared, map[string]string{
		"bases/web/kustomization.yaml": "resources:\n- ../common\n- deploy.yaml\n- https://git.example.com/lib.git//x?ref=v3\n" +
			"helmCharts:\n- name: redis\n  repo: https://charts.example.com\n  version: 1.0.0\n",
	})
	lib := rendertest.Repo(t, map[string]string{"x/kustomization.yaml": "resources:\n- cm.yaml\n", "x/cm.yaml": configMap})
	const libKey = "https://git.example.com/lib.git?ref=v3"
	// A local base that names the same remote base again.
	rendertest.WriteFiles(t, app, map[string]string{
		"apps/web/kustomization.yaml": "resources:\n- https://git.example.com/shared.git//bases/web?ref=v1\n- ../local\n",
		"apps/local/kustomization.yaml": "resources:\n- https://git.example.com/shared.git//bases/common?ref=v1\n" +
			"helmCharts:\n- name: app\n  repo: https://other.example.com/charts\n  version: 2.0.0\n",
	})
	remotes := &fakeRemotes{dirs: map[string]string{sharedKey: shared, libKey: lib}}
	req := render.Request{Root: app, Path: "apps/web"}

	got, err := (&Resolver{Fetch: remotes.fetch}).Resolve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := &Resolved{
		Remotes:    map[string]string{sharedKey: shared, libKey: lib},
		ChartRepos: []string{"https://charts.example.com", "https://other.example.com/charts"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Resolve (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{sharedKey, libKey}, remotes.fetched); d != "" {
		t.Errorf("fetched (-want +got), each once:\n%s", d)
	}

	t.Run("depth", func(t *testing.T) {
		_, err := (&Resolver{Fetch: remotes.fetch, MaxDepth: 1}).Resolve(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), "nested 2 deep, more than the limit of 1") {
			t.Errorf("Resolve = %v, want a depth error", err)
		}
	})
	t.Run("count", func(t *testing.T) {
		_, err := (&Resolver{Fetch: remotes.fetch, MaxRemotes: 1}).Resolve(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), "more than 1 remote repositories and revisions") {
			t.Errorf("Resolve = %v, want a count error", err)
		}
	})
	t.Run("fetch fails", func(t *testing.T) {
		broken := &fakeRemotes{dirs: map[string]string{sharedKey: shared}}
		_, err := (&Resolver{Fetch: broken.fetch}).Resolve(context.Background(), req)
		var re *render.Error
		if !errors.As(err, &re) || re.File != "https://git.example.com/shared.git//bases/web/kustomization.yaml?ref=v1" ||
			!strings.Contains(err.Error(), `resources: "https://git.example.com/lib.git//x?ref=v3": no such repository`) {
			t.Errorf("Resolve = %v, want the failure located at the kustomization and entry", err)
		}
	})
	t.Run("remote bases not fetched", func(t *testing.T) {
		got, err := (&Resolver{}).Resolve(context.Background(), req)
		if err != nil || got.Remotes != nil || !slices.Equal(got.ChartRepos, []string{"https://other.example.com/charts"}) {
			t.Errorf("Resolve without Fetch = %+v, %v; want the local chart repositories only", got, err)
		}
	})
}
