package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"soll.dev/internal/testenv"
)

// TestMain lets the integration tests share one cluster; see testenv.Main.
// The unit tests of this package do not touch it. No test reads the
// configuration or the environment of the user running them: tests that
// need contexts set their own $SOLL_CONFIG.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "soll-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = errors.Join(os.Setenv(ConfigEnv, filepath.Join(dir, "config")), os.Unsetenv(ServerEnv), os.Unsetenv(AuthTokenEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := testenv.Main(m)
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
