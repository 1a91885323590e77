package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyCatchesStaleGeneratedCode checks out the committed tree into a
// temporary worktree, shows `make verify` passes there, then changes an API
// type's documentation without regenerating and shows verify fails naming
// the stale CRD.
func TestVerifyCatchesStaleGeneratedCode(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	wt := filepath.Join(t.TempDir(), "wt")
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	git(root, "worktree", "add", "--detach", wt, "HEAD")
	t.Cleanup(func() {
		cmd := exec.Command("git", "worktree", "remove", "--force", wt)
		cmd.Dir = root
		_ = cmd.Run()
	})
	verify := func() (string, error) {
		cmd := exec.Command("bash", "hack/verify.sh")
		cmd.Dir = wt
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := verify(); err != nil {
		t.Fatalf("verify fails on the committed tree: %v\n%s", err, out)
	}

	types := filepath.Join(wt, "api", "v1alpha1", "application_types.go")
	b, err := os.ReadFile(types)
	if err != nil {
		t.Fatal(err)
	}
	const old = "// Spec is the desired state: what to deploy, where, and how to sync it."
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s no longer holds %q: update this test", types, old)
	}
	changed := strings.Replace(string(b), old, old+" Changed without regenerating.", 1)
	if err := os.WriteFile(types, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	git(wt, "commit", "-q", "-a", "-m", "change the API without regenerating", "--author", "test <test@soll.dev>")
	out, err := verify()
	if err == nil {
		t.Fatalf("verify passed although the CRDs are stale:\n%s", out)
	}
	if !strings.Contains(out, "config/crd/soll.dev_applications.yaml") {
		t.Errorf("verify failure does not name the stale CRD:\n%s", out)
	}
}
