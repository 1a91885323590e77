package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo runs the README's main command end to end, as `make demo` does
// with DEMO_EXIT_AFTER_SCENARIO=1: its own local cluster, a Git server, the
// built soll binary, and the reference scenario. It must exit 0 only when
// every step succeeded.
func TestDemo(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./hack/demo")
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"DEMO_EXIT_AFTER_SCENARIO=1",
		"SOLL_DEMO_DIR="+filepath.Join(t.TempDir(), "demo"),
		"SOLL_BIN="+sollBin,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		"app wordpress: sync OutOfSync",
		"app wordpress: sync Synced, health Healthy",
		"Deployment               wordpress                    OutOfSync   Missing",
		"soll recreated the Deployment",
		"The reference scenario passed",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
