package rendertest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
)

// Contract runs the contract suite against r. writeApp writes a small valid
// application for r into dir, an existing empty directory; the suite places
// it in repositories of its own. options, when not nil, sets the tool's
// options on each request.
func Contract(t *testing.T, r render.Renderer, writeApp func(t *testing.T, dir string), options func(*render.Request)) {
	t.Helper()
	request := func(root, path string) render.Request {
		req := render.Request{Root: root, Path: path}
		if options != nil {
			options(&req)
		}
		return req
	}
	// newRepo returns a repository root holding the app at apps/demo.
	newRepo := func(t *testing.T) string {
		root := t.TempDir()
		app := filepath.Join(root, "apps", "demo")
		if err := os.MkdirAll(app, 0o755); err != nil {
			t.Fatal(err)
		}
		writeApp(t, app)
		return root
	}

	t.Run("renders deterministically", func(t *testing.T) {
		root := newRepo(t)
		first, err := r.Render(context.Background(), request(root, "apps/demo"))
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if len(first.Objects) == 0 {
			t.Fatal("Render returned no objects for a valid application")
		}
		for _, o := range first.Objects {
			if o.Unstructured == nil || o.Unstructured.GetKind() == "" || o.Unstructured.GetName() == "" {
				t.Errorf("object without kind or name: %+v", o)
			}
		}
		second, err := r.Render(context.Background(), request(root, "./apps/demo/"))
		if err != nil {
			t.Fatalf("second Render: %v", err)
		}
		if diff := cmp.Diff(first, second); diff != "" {
			t.Errorf("second render differs (-first +second):\n%s", diff)
		}
	})

	refused := []struct {
		name  string
		path  func(t *testing.T, root string) string
		match error // nil: any error
	}{
		{"absolute path", func(t *testing.T, root string) string { return filepath.Join(root, "apps/demo") }, confine.ErrAbsolute},
		{"parent path", func(t *testing.T, root string) string { return "apps/../apps/demo" }, confine.ErrParent},
		{"escaping parent path", func(t *testing.T, root string) string { return "../" + filepath.Base(root) + "/apps/demo" }, confine.ErrParent},
		{"symlinked out", func(t *testing.T, root string) string {
			outside := newRepo(t) // a valid app, but in another tree
			if err := os.Symlink(filepath.Join(outside, "apps", "demo"), filepath.Join(root, "apps", "linked")); err != nil {
				t.Fatal(err)
			}
			return "apps/linked"
		}, confine.ErrEscape},
		{"symlinked out relatively", func(t *testing.T, root string) string {
			outside := newRepo(t)
			rel, err := filepath.Rel(filepath.Join(root, "apps"), filepath.Join(outside, "apps", "demo"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(rel, filepath.Join(root, "apps", "linked")); err != nil {
				t.Fatal(err)
			}
			return "apps/linked"
		}, confine.ErrEscape},
		{"missing path", func(t *testing.T, root string) string { return "apps/missing" }, nil},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			root := newRepo(t)
			res, err := r.Render(context.Background(), request(root, tt.path(t, root)))
			checkFailed(t, res, err)
			if tt.match != nil && !errors.Is(err, tt.match) {
				t.Errorf("error = %v, want %v", err, tt.match)
			}
		})
	}

	t.Run("honours a canceled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := r.Render(ctx, request(newRepo(t), "apps/demo"))
		checkFailed(t, res, err)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	})
}

// checkFailed checks that a render failed with an *render.Error and no
// result.
func checkFailed(t *testing.T, res *render.Result, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; %d objects", len(res.Objects))
	}
	if res != nil {
		t.Errorf("a result came with the error %v", err)
	}
	var re *render.Error
	if !errors.As(err, &re) {
		t.Errorf("error %v is not a *render.Error", err)
	}
}
