package process

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// requireLandlock fails the test where the kernel has no Landlock: the
// machines soll's tests run on have it, so its absence is a broken setup,
// not a reason to skip.
func requireLandlock(t *testing.T) {
	t.Helper()
	if abi, err := Landlock(); err != nil {
		t.Fatalf("Landlock is unavailable, so confinement cannot be tested: %v", err)
	} else {
		t.Logf("Landlock ABI %d", abi)
	}
}

// TestSandbox runs a shell in a sandbox: it reads what ReadOnly and the
// system directories hold, writes in ReadWrite, and is refused everything
// else, though the same user owns it all.
func TestSandbox(t *testing.T) {
	requireLandlock(t)
	base := t.TempDir()
	dirs := map[string]string{}
	for _, d := range []string{"ro", "rw", "secret", "other"} {
		dirs[d] = filepath.Join(base, d)
		if err := os.Mkdir(dirs[d], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"ro/file", "secret/token"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte("content\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `set -u
cat ro/file >/dev/null || { echo "cannot read ro/file" >&2; exit 1; }
cat /etc/hostname /etc/passwd >/dev/null 2>&1 || [ ! -e /etc/passwd ] || { echo "cannot read /etc" >&2; exit 1; }
echo x > rw/new && mkdir rw/d && mv rw/new rw/d/moved || { echo "cannot write rw" >&2; exit 1; }
if cat secret/token 2>/dev/null; then echo "read secret/token" >&2; exit 1; fi
if ls secret 2>/dev/null; then echo "listed secret" >&2; exit 1; fi
if cat /proc/$PPID/environ 2>/dev/null; then echo "read the environment of soll" >&2; exit 1; fi
if echo x > ro/new 2>/dev/null; then echo "wrote into ro" >&2; exit 1; fi
if echo x > other/new 2>/dev/null; then echo "wrote into other" >&2; exit 1; fi
env
`
	out, err := Run(context.Background(), Command{
		Path:      "/bin/sh",
		Args:      []string{"-c", script},
		Dir:       base,
		Env:       []string{"PATH=/usr/bin:/bin", "KEPT=yes"},
		MaxOutput: 1 << 20,
		Sandbox:   &Sandbox{ReadOnly: []string{base + "/ro"}, ReadWrite: []string{base + "/rw"}},
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.Contains(string(out), "KEPT=yes") || strings.Contains(string(out), sandboxEnv) {
		t.Errorf("environment = %q, want the command's Env without %s", out, sandboxEnv)
	}
	if _, err := os.Stat(filepath.Join(base, "rw/d/moved")); err != nil {
		t.Errorf("the write in rw did not happen: %v", err)
	}
	for _, f := range []string{"ro/new", "other/new"} {
		if _, err := os.Stat(filepath.Join(base, f)); err == nil {
			t.Errorf("%s was written", f)
		}
	}
}

// TestSandboxMemory: each sandboxed process gets at most MaxMemoryBytes of
// data memory.
func TestSandboxMemory(t *testing.T) {
	_, err := Run(context.Background(), Command{
		Path:      "/bin/sh",
		Args:      []string{"-c", `x=$(head -c 64000000 /dev/zero | tr '\0' a); echo "held ${#x} bytes"`},
		MaxOutput: 1 << 20,
		Sandbox:   &Sandbox{MaxMemoryBytes: 16 << 20},
	})
	var pe *Error
	if !errors.As(err, &pe) || pe.ExitCode == 0 {
		t.Fatalf("Run = %v, want the shell to fail for want of memory", err)
	}
	if pe.MaxRSS > 32<<20 {
		t.Errorf("MaxRSS = %d, want at most about the 16 MiB limit", pe.MaxRSS)
	}
}

func TestSandboxMissingProgram(t *testing.T) {
	_, err := Run(context.Background(), Command{Path: "/no/such/program", MaxOutput: 1 << 10, Sandbox: &Sandbox{}})
	var pe *Error
	if !errors.As(err, &pe) || pe.ExitCode != trampolineNotFound || !strings.Contains(pe.Stderr, "/no/such/program") {
		t.Errorf("Run = %v, want exit %d naming the program", err, trampolineNotFound)
	}
}
