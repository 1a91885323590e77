package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"soll.dev/internal/testenv"
)

// sollBin is the binary under test, built once by TestMain.
var sollBin string

func TestMain(m *testing.M) {
	if os.Getenv(browserResultEnv) != "" && len(os.Args) == 2 {
		// soll login --sso started this binary as its browser.
		os.Exit(browse(os.Args[1]))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	// The tests use controller-runtime's client, whose log goes nowhere.
	ctrllog.SetLogger(logr.Discard())
	if testing.Short() {
		// The fast loop: these tests build soll and drive it against a
		// cluster, which is the full loop's job.
		fmt.Fprintln(os.Stderr, "e2e: skipped under -short (end-to-end tests build soll and need a cluster)")
		return 0
	}
	dir, err := os.MkdirTemp("", "soll-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir) //nolint:errcheck // a directory left in the temporary directory is all a failure costs
	sollBin = filepath.Join(dir, "soll")
	build := exec.Command("go", "build", "-ldflags", "-X soll.dev/internal/version.Version=v0.0.0-e2e -X soll.dev/internal/version.Commit=e2ecommit -X soll.dev/internal/version.Date=2026-12-01T00:00:00Z", "-o", sollBin, "soll.dev/cmd/soll")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build soll:", err)
		return 1
	}
	return testenv.Main(m)
}
