package rendertest

import (
	"os"
	"path/filepath"
	"testing"
)

// AppPath is where Repo's application lives, relative to the root.
const AppPath = "apps/demo"

// WriteFile writes content to the file name, creating its directory.
func WriteFile(t testing.TB, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// WriteFiles writes files (slash-separated names relative to dir) into
// dir, creating directories as needed.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		WriteFile(t, filepath.Join(dir, filepath.FromSlash(name)), content)
	}
}

// Repo returns the root of a new repository in a temporary directory,
// holding files (slash-separated names relative to the root) and the
// application directory AppPath, which exists even when no file is in it.
func Repo(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(AppPath)), 0o755); err != nil {
		t.Fatal(err)
	}
	WriteFiles(t, root, files)
	return root
}

// Symlink creates the symbolic link name pointing at target.
func Symlink(t testing.TB, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}
