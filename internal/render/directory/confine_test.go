//go:build unix

package directory

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/rendertest"
)

// outsideApp writes a valid app outside any repository and returns its
// directory.
func outsideApp(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "outside")
	rendertest.WriteFile(t, filepath.Join(dir, "leak.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaked\n")
	return dir
}

func TestConfinement(t *testing.T) {
	recurse := &render.DirectoryOptions{Recurse: true}
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		path  string
		opts  *render.DirectoryOptions
		file  string // the file the error must name
		match error
	}{
		{
			name: "file symlinked to /etc/passwd",
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, "/etc/passwd", filepath.Join(root, "apps/flat/passwd.yaml"))
			},
			path: "apps/flat", file: "apps/flat/passwd.yaml", match: confine.ErrEscape,
		},
		{
			name: "file symlinked out with a relative target",
			setup: func(t *testing.T, root string) {
				target, _ := filepath.Rel(filepath.Join(root, "apps/flat"), filepath.Join(outsideApp(t), "leak.yaml"))
				rendertest.Symlink(t, target, filepath.Join(root, "apps/flat/leak.yaml"))
			},
			path: "apps/flat", file: "apps/flat/leak.yaml", match: confine.ErrEscape,
		},
		{
			name: "absolute symlink into the repository itself",
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, filepath.Join(root, "shared/cm.yaml"), filepath.Join(root, "apps/flat/abs.yaml"))
			},
			path: "apps/flat", file: "apps/flat/abs.yaml", match: confine.ErrEscape,
		},
		{
			name: "directory symlinked out",
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, outsideApp(t), filepath.Join(root, "apps/flat/sub/ext"))
			},
			path: "apps/flat", opts: recurse, file: "apps/flat/sub/ext", match: confine.ErrEscape,
		},
		{
			name: "application path symlinked out",
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, outsideApp(t), filepath.Join(root, "apps/linked"))
			},
			path: "apps/linked", file: "apps/linked", match: confine.ErrEscape,
		},
		{
			name: "parent of the application path symlinked out",
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, filepath.Dir(outsideApp(t)), filepath.Join(root, "elsewhere"))
			},
			path: "elsewhere/outside", file: "elsewhere/outside", match: confine.ErrEscape,
		},
		{
			name: "file symlink loop",
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, "loop.yaml", filepath.Join(root, "apps/flat/loop.yaml"))
			},
			path: "apps/flat", file: "apps/flat/loop.yaml", match: confine.ErrLoop,
		},
		{
			name: "two-link loop",
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, "ping.yaml", filepath.Join(root, "apps/flat/pong.yaml"))
				rendertest.Symlink(t, "pong.yaml", filepath.Join(root, "apps/flat/ping.yaml"))
			},
			path: "apps/flat", file: "apps/flat/ping.yaml", match: confine.ErrLoop,
		},
		{
			name: "directory loop",
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, "..", filepath.Join(root, "apps/flat/sub/deeper/up"))
			},
			path: "apps/flat", opts: recurse, file: "apps/flat/sub/deeper/up", match: confine.ErrLoop,
		},
		{
			// With Recurse, a symlink may be a directory: it is resolved
			// whatever its name.
			name: "escaping symlink when recursing",
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, "/etc/passwd", filepath.Join(root, "apps/flat/README"))
			},
			path: "apps/flat", opts: recurse, file: "apps/flat/README", match: confine.ErrEscape,
		},
		{
			name: "FIFO",
			setup: func(t *testing.T, root string) {
				if err := syscall.Mkfifo(filepath.Join(root, "apps/flat/pipe.yaml"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			path: "apps/flat", file: "apps/flat/pipe.yaml", match: confine.ErrNotRegular,
		},
		{
			// Confinement comes before parsing: the broken file sorts first
			// but the error is about the symlink.
			name: "escape reported before a syntax error",
			setup: func(t *testing.T, root string) {
				rendertest.WriteFile(t, filepath.Join(root, "apps/flat/0-broken.yaml"), "a: [b\n")
				rendertest.Symlink(t, "/etc/passwd", filepath.Join(root, "apps/flat/z.yaml"))
			},
			path: "apps/flat", file: "apps/flat/z.yaml", match: confine.ErrEscape,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := copyFixture(t)
			tt.setup(t, root)
			start := time.Now()
			res, err := (&Renderer{}).Render(context.Background(), render.Request{Root: root, Path: tt.path, Directory: tt.opts})
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("took %v", elapsed)
			}
			if err == nil {
				t.Fatalf("no error; objects %v", summary(res))
			}
			if res != nil {
				t.Errorf("result returned with the error")
			}
			if !errors.Is(err, tt.match) {
				t.Errorf("error %v does not match %v", err, tt.match)
			}
			var re *render.Error
			if !errors.As(err, &re) || re.File != tt.file {
				t.Errorf("error %v does not name %s", err, tt.file)
			}
			for _, leak := range []string{"root:", "leaked", "/tmp", "/etc"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error shows %q: %v", leak, err)
				}
			}
		})
	}
}

// TestSymlinksInside checks the symlinks that are followed: those that stay
// inside the repository, and those that are never read.
func TestSymlinksInside(t *testing.T) {
	shared := "ConfigMap/shared "
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		path  string
		opts  *render.DirectoryOptions
		want  []string
	}{
		{
			name: "file symlinked inside",
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, "../../shared/cm.yaml", filepath.Join(root, "apps/flat/s.yaml"))
			},
			path: "apps/flat",
			want: []string{aOne, aTwo, bItem, cJSON, shared + "apps/flat/s.yaml:1"},
		},
		{
			name: "directory symlinked inside",
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, "../../../shared", filepath.Join(root, "apps/flat/sub/lib"))
			},
			path: "apps/flat", opts: &render.DirectoryOptions{Recurse: true, Include: []string{"sub/**"}},
			want: []string{dSub, eDeeper, shared + "apps/flat/sub/lib/cm.yaml:1"},
		},
		{
			name:  "application path symlinked inside",
			setup: func(t *testing.T, root string) { rendertest.Symlink(t, "flat", filepath.Join(root, "apps/alias")) },
			path:  "apps/alias",
			want: []string{
				"ConfigMap/a-one apps/alias/a.yaml:1", "ConfigMap/a-two apps/alias/a.yaml:6",
				"ServiceAccount/b-item apps/alias/b.yml:4", "ConfigMap/c-json apps/alias/c.json:1",
			},
		},
		{
			name: "escaping symlink excluded when recursing",
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, "/etc", filepath.Join(root, "apps/flat/sub/etc"))
			},
			path: "apps/flat", opts: &render.DirectoryOptions{Recurse: true, Exclude: []string{"etc", "vendor"}},
			want: []string{aOne, aTwo, bItem, cJSON, dSub, eDeeper},
		},
		{
			name: "escaping symlinks that are never read",
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, "/etc/passwd", filepath.Join(root, "apps/flat/README"))        // not a manifest name
				rendertest.Symlink(t, "/etc", filepath.Join(root, "apps/flat/etc"))                  // not walked without Recurse
				rendertest.Symlink(t, "/etc/passwd", filepath.Join(root, "apps/flat/.secret.yaml"))  // hidden
				rendertest.Symlink(t, "/etc/passwd", filepath.Join(root, "apps/flat/excluded.yaml")) // excluded
			},
			path: "apps/flat", opts: &render.DirectoryOptions{Exclude: []string{"excluded.yaml"}},
			want: []string{aOne, aTwo, bItem, cJSON},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := copyFixture(t)
			tt.setup(t, root)
			res, err := (&Renderer{}).Render(context.Background(), render.Request{Root: root, Path: tt.path, Directory: tt.opts})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summary(res)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNoReadOutside checks the os.Root guarantee at the bottom of it all: the
// confined root cannot open /etc/passwd through a symlink, even when asked
// for the link directly.
func TestNoReadOutside(t *testing.T) {
	root := copyFixture(t)
	rendertest.Symlink(t, "/etc/passwd", filepath.Join(root, "passwd"))
	r, err := confine.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := fs.ReadFile(r.FS(), "passwd"); err == nil {
		t.Error("read /etc/passwd through the root's FS")
	}
	if _, _, err := r.OpenFile("passwd"); !errors.Is(err, confine.ErrEscape) {
		t.Errorf("OpenFile = %v, want %v", err, confine.ErrEscape)
	}
}
