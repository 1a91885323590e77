package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/oidcprovider"
)

// server is a `soll run` process of the built binary.
type server struct {
	// URL is the API's base URL.
	URL string
	// logPath is the file that holds the process's output.
	logPath string
	// cmd is the process; exited is closed once it has exited.
	cmd    *exec.Cmd
	exited chan struct{}
}

// freeAddr returns a loopback address with a port free a moment ago, for
// servers whose URL must be known before they start (SSO's callback).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startSoll runs `soll run` for namespace ns on addr until the test ends
// and returns once its API answers. Only webhooks and requests bring new
// commits in time: the refresh interval is an hour.
func startSoll(t *testing.T, env *testenv.Env, ns, addr string) *server {
	t.Helper()
	s := startProcess(t, "soll run", "run", "--kubeconfig", env.KubeconfigPath, "--namespace", ns,
		"--listen", addr, "--insecure-cookies", "--refresh-interval", "1h")
	s.URL = "http://" + addr
	exited := s.exited
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := testenv.Eventually(ctx, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		select {
		case <-exited:
			return false, fmt.Errorf("soll run exited")
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/version", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("soll run's API never answered: %v\n%s", err, s.logTail(t, 100))
	}
	return s
}

// startProcess runs the soll binary with args and a cache directory of its
// own until the test ends; its output goes to a file (see log).
func startProcess(t *testing.T, what string, args ...string) *server {
	t.Helper()
	dir := t.TempDir()
	s := &server{logPath: filepath.Join(dir, "soll.log")}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sollBin, append(args, "--cache-dir", filepath.Join(dir, "cache"))...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// The log as it was when the test ended: stopping a failed
		// test's process (SIGQUIT) adds its goroutines to it.
		tail := ""
		if t.Failed() {
			tail = s.logTail(t, 300)
		}
		stopProcess(t, cmd.Process, exited, what)
		if err := logFile.Close(); err != nil {
			t.Errorf("%s's log: %v", what, err)
		}
		if t.Failed() {
			t.Logf("%s's log when the test ended:\n%s", what, tail)
			if kept := os.Getenv("SOLL_E2E_LOGS"); kept != "" {
				_ = os.MkdirAll(kept, 0o755)
				if b, err := os.ReadFile(s.logPath); err == nil {
					_ = os.WriteFile(filepath.Join(kept, filepath.Base(filepath.Dir(s.logPath))+".log"), b, 0o644)
				}
			}
		}
	})
	return s
}

// log returns the process's output so far.
func (s *server) log(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (s *server) logTail(t *testing.T, n int) string {
	lines := strings.Split(s.log(t), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// cli runs the soll binary as a user would: its own configuration file,
// no kubeconfig and no server or token from the caller's environment.
type cli struct {
	t      *testing.T
	config string
	env    []string
}

func newCLI(t *testing.T) *cli {
	c := &cli{t: t, config: filepath.Join(t.TempDir(), "soll", "config")}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "SOLL_SERVER" && k != "SOLL_AUTH_TOKEN" && k != "SOLL_CONFIG" && k != "KUBECONFIG" && k != "BROWSER" {
			c.env = append(c.env, kv)
		}
	}
	c.env = append(c.env, "SOLL_CONFIG="+c.config, "KUBECONFIG=/nonexistent/kubeconfig")
	return c
}

// result is what one command printed and how it exited.
type result struct {
	out, errOut string
	code        int
}

// cmd describes one run: extra environment, standard input, and whether
// its standard output is secret (kept out of the test log).
type cmd struct {
	env    []string
	stdin  string
	secret bool
}

// run runs soll with args and reports what it printed.
func (c *cli) run(o cmd, args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	x := exec.CommandContext(ctx, sollBin, args...)
	x.Env = append(c.env, o.env...)
	x.Stdin = strings.NewReader(o.stdin)
	var out, errOut bytes.Buffer
	x.Stdout, x.Stderr = &out, &errOut
	start := time.Now()
	err := x.Run()
	r := result{out: out.String(), errOut: errOut.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("soll %s: %v", strings.Join(args, " "), err)
	}
	shown := r.out
	if o.secret {
		shown = "(secret output)\n"
	}
	c.t.Logf("$ soll %s   (exit %d, %s)\n%s%s", strings.Join(args, " "), r.code, time.Since(start).Round(time.Millisecond), shown, r.errOut)
	return r
}

// must runs soll with args, fails the test unless it exits 0, and
// returns its standard output.
func (c *cli) must(args ...string) string {
	c.t.Helper()
	r := c.run(cmd{}, args...)
	if r.code != 0 {
		c.t.Fatalf("soll %s: exit %d\n%s", strings.Join(args, " "), r.code, r.errOut)
	}
	return r.out
}

// token returns the session token of the context name in the CLI's
// configuration.
func (c *cli) token(name string) string {
	c.t.Helper()
	b, err := os.ReadFile(c.config)
	if err != nil {
		c.t.Fatal(err)
	}
	var cfg struct {
		Contexts []struct{ Name, Token string }
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		c.t.Fatal(err)
	}
	for _, ctx := range cfg.Contexts {
		if ctx.Name == name && ctx.Token != "" {
			return ctx.Token
		}
	}
	c.t.Fatalf("no context %s with a token in %s", name, c.config)
	return ""
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// The test binary doubles as the browser of soll login --sso: the CLI
// runs $BROWSER with the login URL, and with browserResultEnv set,
// TestMain runs browse instead of the tests.
const browserResultEnv = "SOLL_E2E_BROWSER_RESULT"

// browserEnv is the environment that makes soll login --sso use this
// test binary as its browser, which writes what it saw to result.
func browserEnv(t *testing.T, result string) []string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{"BROWSER=" + self, browserResultEnv + "=" + result}
}

// browse is the browser of soll login --sso (oidcprovider.Browse) in a
// process of its own: it writes "forged STATUS, login STATUS: PAGE", or
// the error, to the file named by $SOLL_E2E_BROWSER_RESULT.
func browse(loginURL string) int {
	b, err := oidcprovider.Browse(loginURL)
	report := fmt.Sprintf("forged %d, login %d: %s", b.Forged, b.Status, b.Body)
	if err != nil {
		report = err.Error()
	}
	if err := os.WriteFile(os.Getenv(browserResultEnv), []byte(report), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// stopProcess stops p, which closes exited when it has exited: SIGTERM,
// or SIGQUIT when the test failed (Go's runtime then prints every
// goroutine's stack, so the log shows where it was stuck), and SIGKILL
// after 15 s.
func stopProcess(t *testing.T, p *os.Process, exited <-chan struct{}, what string) {
	t.Helper()
	sig := syscall.SIGTERM
	if t.Failed() {
		sig = syscall.SIGQUIT
	}
	_ = p.Signal(sig)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Errorf("%s did not stop within 15s of %s", what, sig)
		_ = p.Kill()
		<-exited
	}
}
