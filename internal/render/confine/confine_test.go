//go:build unix

package confine

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestPath(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{in: "", want: "."},
		{in: ".", want: "."},
		{in: "apps/web", want: "apps/web"},
		{in: "./apps//web/", want: "apps/web"},
		{in: "apps/./web", want: "apps/web"},
		{in: "...", want: "..."}, // a name, not a parent
		{in: "a..b/c", want: "a..b/c"},
		{in: "/etc/passwd", err: ErrAbsolute},
		{in: "/", err: ErrAbsolute},
		{in: "..", err: ErrParent},
		{in: "../x", err: ErrParent},
		{in: "apps/../../x", err: ErrParent},
		{in: "apps/../web", err: ErrParent}, // stays inside, refused all the same
		{in: "apps/..", err: ErrParent},
		{in: "a\x00b", err: ErrInvalid},
	}
	for _, tt := range tests {
		got, err := Path(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("Path(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestRootSymlinks also pins the text of os.Root's escape error, which
// classify relies on.
func TestRootSymlinks(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "dir"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{
		filepath.Join(root, "dir", "file"): "inside",
		filepath.Join(outside, "file"):     "outside",
	} {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"abs-out":   filepath.Join(outside, "file"),
		"rel-out":   "../outside/file",
		"abs-in":    filepath.Join(root, "dir", "file"), // absolute: refused even though inside
		"rel-in":    "dir/file",
		"dir-out":   "../outside",
		"dir-in":    "dir",
		"loop":      "loop",
		"dir/up":    "..",
		"dir/sneak": "../../outside/file",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	r, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tests := []struct {
		name string
		err  error // from OpenFile
	}{
		{"dir/file", nil},
		{"rel-in", nil},
		{"dir-in/file", nil},
		{"dir/up/dir/file", nil},
		{"abs-out", ErrEscape},
		{"rel-out", ErrEscape},
		{"abs-in", ErrEscape},
		{"dir-out/file", ErrEscape},
		{"dir/sneak", ErrEscape},
		{"loop", ErrLoop},
		{"fifo", ErrNotRegular},
		{"dir", ErrNotRegular},
		{"missing", fs.ErrNotExist},
		{"../outside/file", ErrParent},
		{filepath.Join(outside, "file"), ErrAbsolute},
		{".", ErrInvalid},
	}
	for _, tt := range tests {
		f, _, err := r.OpenFile(tt.name)
		if f != nil {
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("OpenFile(%q) = %v, want %v", tt.name, err, tt.err)
		}
		if _, err := r.Stat(tt.name); tt.err != nil && tt.err != ErrNotRegular && tt.err != ErrInvalid && !errors.Is(err, tt.err) {
			t.Errorf("Stat(%q) = %v, want %v", tt.name, err, tt.err)
		}
	}

	if info, err := r.Lstat("abs-out"); err != nil || info.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat(abs-out) = %v, %v; want the link itself", info, err)
	}
	entries, err := r.ReadDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"abs-in", "abs-out", "dir", "dir-in", "dir-out", "fifo", "loop", "rel-in", "rel-out"}
	if !equal(names, want) {
		t.Errorf("ReadDir = %v, want %v", names, want)
	}
	if entries, err := r.ReadDir(".", 3); err != nil || len(entries) != 3 {
		t.Errorf("ReadDir(., 3) = %d entries, %v; want 3", len(entries), err)
	}
	if _, err := r.ReadDir("dir-out", 0); !errors.Is(err, ErrEscape) {
		t.Errorf("ReadDir(dir-out) = %v, want %v", err, ErrEscape)
	}
}

func TestOpenRelative(t *testing.T) {
	if _, err := Open("relative/dir"); err == nil {
		t.Error("Open accepted a relative directory")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
