package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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

// restrictSelfEnv makes the test binary the child of TestRestrictSelf.
const restrictSelfEnv = "SOLL_TEST_RESTRICT_SELF"

func init() {
	if dir := os.Getenv(restrictSelfEnv); dir != "" {
		os.Exit(restrictSelfChild(dir))
	}
}

// restrictSelfChild confines itself to reading dir/ro, then tries, on
// threads that existed before and on new ones, to read dir/ro/file (which
// must work), dir/secret and to write dir/ro/new (which must not).
func restrictSelfChild(dir string) int {
	const threads = 4
	start, done := make(chan struct{}), make(chan string)
	try := func() {
		var errs []string
		if _, err := os.ReadFile(filepath.Join(dir, "ro", "file")); err != nil {
			errs = append(errs, "cannot read ro/file: "+err.Error())
		}
		if _, err := os.ReadFile(filepath.Join(dir, "secret")); err == nil {
			errs = append(errs, "read secret")
		}
		if err := os.WriteFile(filepath.Join(dir, "ro", "new"), nil, 0o644); err == nil {
			errs = append(errs, "wrote ro/new")
		}
		done <- strings.Join(errs, "; ")
	}
	ready := make(chan struct{})
	for range threads {
		go func() {
			runtime.LockOSThread() // a thread of its own, from before the restriction
			ready <- struct{}{}
			<-start
			try()
		}()
	}
	for range threads {
		<-ready
	}
	if err := RestrictSelf(Sandbox{ReadOnly: []string{filepath.Join(dir, "ro")}}); err != nil {
		fmt.Fprintln(os.Stderr, "RestrictSelf:", err)
		return 1
	}
	close(start)
	go try()
	for range threads + 1 {
		if msg := <-done; msg != "" {
			fmt.Fprintln(os.Stderr, msg)
			return 1
		}
	}
	fmt.Println("confined")
	return 0
}

// TestRestrictSelf: RestrictSelf confines every thread of the process.
func TestRestrictSelf(t *testing.T) {
	requireLandlock(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "ro"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ro/file", "secret"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), Command{Path: self, Env: []string{restrictSelfEnv + "=" + dir}, MaxOutput: 1 << 20})
	if err != nil || strings.TrimSpace(string(out)) != "confined" {
		t.Errorf("child: %q, %v; want it confined", out, err)
	}
}
