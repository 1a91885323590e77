package devenv_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"soll.dev/internal/devenv"
)

// TestServeGit serves a repository made by CreateRepo and counts what a
// clone asks of it: one ref advertisement, then fetches (with Git's
// protocol v2, listing the refs is a fetch request too).
func TestServeGit(t *testing.T) {
	root := t.TempDir()
	if _, err := devenv.CreateRepo(root, "demo", "first", func(work string) error {
		return os.WriteFile(filepath.Join(work, "cm.yaml"), []byte("kind: ConfigMap\n"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	srv, err := devenv.ServeGit(root)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	before := srv.Counts()
	clone := filepath.Join(t.TempDir(), "clone")
	cmd := exec.Command("git", "clone", "-q", srv.URL("demo"), clone)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir(), "GIT_TERMINAL_PROMPT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(clone, "cm.yaml"))
	if err != nil || !strings.Contains(string(data), "ConfigMap") {
		t.Fatalf("clone holds %q, %v", data, err)
	}
	if got := srv.Counts().Sub(before); got.RefLists != 1 || got.Fetches < 1 || got.Other != 0 {
		t.Errorf("counts %+v, want one ref listing, fetches, nothing else", got)
	}
}
