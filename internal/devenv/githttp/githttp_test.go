package githttp_test

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"soll.dev/internal/devenv/githttp"
)

// git runs git with a clean configuration.
func git(t *testing.T, home string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+home, "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=soll", "GIT_AUTHOR_EMAIL=dev@soll.dev", "GIT_COMMITTER_NAME=soll", "GIT_COMMITTER_EMAIL=dev@soll.dev")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestHandler serves a bare repository and counts what a clone asks of
// it: one ref advertisement, then fetches (with Git's protocol v2, listing
// the refs is a fetch request too).
func TestHandler(t *testing.T) {
	home, root := t.TempDir(), t.TempDir()
	work := filepath.Join(t.TempDir(), "work")
	git(t, home, "init", "-q", "-b", "main", work)
	if err := os.WriteFile(filepath.Join(work, "cm.yaml"), []byte("kind: ConfigMap\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, home, "-C", work, "add", ".")
	git(t, home, "-C", work, "commit", "-q", "-m", "first")
	git(t, home, "clone", "-q", "--bare", work, filepath.Join(root, "demo.git"))

	h, err := githttp.NewHandler(root, githttp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	before := h.Counts()
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, home, "clone", "-q", srv.URL+"/demo.git", clone)
	data, err := os.ReadFile(filepath.Join(clone, "cm.yaml"))
	if err != nil || !strings.Contains(string(data), "ConfigMap") {
		t.Fatalf("clone holds %q, %v", data, err)
	}
	if got := h.Counts().Sub(before); got.RefLists != 1 || got.Fetches < 1 || got.Other != 0 {
		t.Errorf("counts %+v, want one ref listing, fetches, nothing else", got)
	}
	if n := h.RefListings("demo"); n != 1 {
		t.Errorf("RefListings(demo) = %d, want 1", n)
	}
}
