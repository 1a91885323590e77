package directory

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/rendertest"
)

func TestContract(t *testing.T) {
	rendertest.Contract(t, &Renderer{}, func(t *testing.T, dir string) {
		rendertest.WriteFile(t, filepath.Join(dir, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n")
		rendertest.WriteFile(t, filepath.Join(dir, "sa.json"), `{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "demo"}}`)
	}, nil)
}

// fixture is the committed repository snapshot.
func fixture(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("testdata/repo")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// summary is one line per object: what it is and where it came from.
func summary(res *render.Result) []string {
	var out []string
	for _, o := range res.Objects {
		out = append(out, fmt.Sprintf("%s/%s %s", o.Unstructured.GetKind(), o.Unstructured.GetName(), o.Origin))
	}
	return out
}

const (
	aOne    = "ConfigMap/a-one apps/flat/a.yaml:1"
	aTwo    = "ConfigMap/a-two apps/flat/a.yaml:6"
	bItem   = "ServiceAccount/b-item apps/flat/b.yml:4"
	cJSON   = "ConfigMap/c-json apps/flat/c.json:1"
	dSub    = "ConfigMap/d-sub apps/flat/sub/d.yaml:1"
	eDeeper = "ConfigMap/e-deeper apps/flat/sub/deeper/e.yaml:1"
	xVendor = "ConfigMap/x-vendor apps/flat/vendor/x.yaml:1"
)

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		path string
		opts *render.DirectoryOptions
		want []string
	}{
		{"flat", "apps/flat", nil, []string{aOne, aTwo, bItem, cJSON}},
		{"path written loosely", "./apps//flat/", nil, []string{aOne, aTwo, bItem, cJSON}},
		{"recurse", "apps/flat", &render.DirectoryOptions{Recurse: true},
			[]string{aOne, aTwo, bItem, cJSON, dSub, eDeeper, xVendor}},
		{"include by name", "apps/flat", &render.DirectoryOptions{Include: []string{"*.yaml"}},
			[]string{aOne, aTwo}},
		{"include by name at any depth", "apps/flat", &render.DirectoryOptions{Recurse: true, Include: []string{"*.yaml"}},
			[]string{aOne, aTwo, dSub, eDeeper, xVendor}},
		{"include alternatives", "apps/flat", &render.DirectoryOptions{Include: []string{"{a.yaml,c.json}"}},
			[]string{aOne, aTwo, cJSON}},
		{"include a path", "apps/flat", &render.DirectoryOptions{Recurse: true, Include: []string{"sub/*.yaml"}},
			[]string{dSub}},
		{"include a tree", "apps/flat", &render.DirectoryOptions{Recurse: true, Include: []string{"sub/**"}},
			[]string{dSub, eDeeper}},
		{"include at any depth", "apps/flat", &render.DirectoryOptions{Recurse: true, Include: []string{"**/deeper/*"}},
			[]string{eDeeper}},
		{"exclude", "apps/flat", &render.DirectoryOptions{Exclude: []string{"a.yaml", "*.json"}},
			[]string{bItem}},
		{"exclude a directory", "apps/flat", &render.DirectoryOptions{Recurse: true, Exclude: []string{"vendor", "sub/deeper"}},
			[]string{aOne, aTwo, bItem, cJSON, dSub}},
		{"exclude wins over include", "apps/flat", &render.DirectoryOptions{Include: []string{"*.yaml"}, Exclude: []string{"a.*"}},
			nil},
		{"application at the root", "", &render.DirectoryOptions{Recurse: true, Include: []string{"apps/flat/*.yml", "shared/*"}},
			[]string{bItem, "ConfigMap/shared shared/cm.yaml:1"}},
		{"empty directory", "apps/empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := (&Renderer{}).Render(context.Background(), render.Request{Root: fixture(t), Path: tt.path, Directory: tt.opts})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summary(res)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderDeterministic(t *testing.T) {
	req := render.Request{Root: fixture(t), Path: "apps/flat", Directory: &render.DirectoryOptions{Recurse: true}}
	first, err := (&Renderer{}).Render(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		again, err := (&Renderer{}).Render(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Fatalf("renders differ (-first +again):\n%s", diff)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name  string
		root  string // default: the fixture
		path  string
		opts  *render.DirectoryOptions
		want  string
		match error
	}{
		{name: "bad YAML", path: "apps/broken",
			want: "render apps/broken/wrong.yaml:12: invalid YAML: did not find expected key"},
		{name: "missing kind", path: "apps/nokind",
			want: "render apps/nokind/cm.yaml:2: not a Kubernetes object: kind is missing"},
		{name: "missing path", path: "apps/missing",
			want: "render apps/missing: application path does not exist in the repository at this revision", match: fs.ErrNotExist},
		{name: "path to a file", path: "apps/flat/a.yaml",
			want: "render apps/flat/a.yaml: application path is not a directory"},
		{name: "absolute path", path: "/etc",
			want: "render /etc: application path: " + confine.ErrAbsolute.Error(), match: confine.ErrAbsolute},
		{name: "parent path", path: "apps/../../etc",
			want: "render apps/../../etc: application path: " + confine.ErrParent.Error(), match: confine.ErrParent},
		{name: "relative root", root: "testdata/repo", path: "apps/flat",
			want: `render: open repository root "testdata/repo": not an absolute path`},
		{name: "malformed include", path: "apps/flat", opts: &render.DirectoryOptions{Include: []string{"[a-"}},
			want: `render: include pattern "[a-": malformed pattern (see path.Match for the syntax)`},
		{name: "absolute include", path: "apps/flat", opts: &render.DirectoryOptions{Include: []string{"/etc/*"}},
			match: confine.ErrAbsolute},
		{name: "parent include", path: "apps/flat", opts: &render.DirectoryOptions{Include: []string{"{x,../*.yaml}"}},
			match: confine.ErrParent},
		{name: "parent exclude", path: "apps/flat", opts: &render.DirectoryOptions{Exclude: []string{"../flat"}},
			match: confine.ErrParent},
		{name: "unbalanced braces", path: "apps/flat", opts: &render.DirectoryOptions{Include: []string{"{a,b"}},
			want: `render: include pattern "{a,b": unmatched {`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tt.root
			if root == "" {
				root = fixture(t)
			}
			res, err := (&Renderer{}).Render(context.Background(), render.Request{Root: root, Path: tt.path, Directory: tt.opts})
			if err == nil {
				t.Fatalf("no error; objects %v", summary(res))
			}
			if res != nil {
				t.Errorf("result returned with the error")
			}
			if tt.want != "" && err.Error() != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", err, tt.want)
			}
			if tt.match != nil && !errors.Is(err, tt.match) {
				t.Errorf("error %v does not match %v", err, tt.match)
			}
		})
	}
}

// copyFixture copies the committed snapshot into a temporary directory, where
// a test may add symlinks and special files. It returns the copy's root.
func copyFixture(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "repo")
	if err := os.CopyFS(dst, os.DirFS("testdata/repo")); err != nil {
		t.Fatal(err)
	}
	return dst
}
