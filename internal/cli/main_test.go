package cli

import (
	"os"
	"testing"

	"soll.dev/internal/testenv"
)

// TestMain lets the integration tests share one cluster; see testenv.Main.
// The unit tests of this package do not touch it.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
