package gitserver

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Identity used for every commit and tag the package creates.
const (
	AuthorName  = "Soll Test"
	AuthorEmail = "soll-test@example.invalid"
)

// commandTimeout bounds a single git invocation so a wedged server fails the
// test instead of hanging until the global test timeout.
const commandTimeout = 2 * time.Minute

// gitEnv is a complete environment for git, built from scratch so that the
// caller's global config, credential helpers, askpass programs, proxies and
// locale cannot change git's behaviour or its messages.
func gitEnv(home string, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_ATTR_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=" + AuthorName,
		"GIT_AUTHOR_EMAIL=" + AuthorEmail,
		"GIT_COMMITTER_NAME=" + AuthorName,
		"GIT_COMMITTER_EMAIL=" + AuthorEmail,
		"LC_ALL=C",
		"LANG=C",
	}
	return append(env, extra...)
}

// runGit runs git and returns its trimmed stdout; the error carries stderr
// because that is where git explains what went wrong.
func runGit(env []string, dir string, stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Client runs the git CLI as a test client. Its HOME is a private temp dir, so
// nothing from the developer's configuration (credential helpers, SSH config,
// url rewrites) is used.
type Client struct {
	// Home is the HOME of every git process the client starts.
	Home string
	// Env holds extra KEY=VALUE pairs that override the clean base.
	Env []string
}

// NewClient returns a Client with a fresh HOME.
func NewClient(tb testing.TB) *Client {
	tb.Helper()
	return &Client{Home: tb.TempDir()}
}

// With returns a copy of c with env appended, leaving c untouched so one base
// client can be specialised per subtest.
func (c *Client) With(env ...string) *Client {
	return &Client{Home: c.Home, Env: append(append([]string(nil), c.Env...), env...)}
}

// WithSSH returns a copy of c that talks SSH with the given private key and
// known_hosts files only.
func (c *Client) WithSSH(keyFile, knownHostsFile string) *Client {
	return c.With("GIT_SSH_COMMAND=" + SSHCommand(keyFile, knownHostsFile))
}

// Run runs git in dir and returns its trimmed stdout. The error includes
// git's stderr, so negative tests can match on it.
func (c *Client) Run(dir string, args ...string) (string, error) {
	return runGit(gitEnv(c.Home, c.Env...), dir, nil, args...)
}

// MustRun is Run that fails the test on error.
func (c *Client) MustRun(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	out, err := c.Run(dir, args...)
	if err != nil {
		tb.Fatalf("gitserver: %v", err)
	}
	return out
}

// Clone clones url into a new temp dir and returns the work tree path.
func (c *Client) Clone(tb testing.TB, url string, args ...string) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "clone")
	c.MustRun(tb, "", append(append([]string{"clone"}, args...), "--", url, dir)...)
	return dir
}

// CommitFiles writes files (slash-separated paths relative to the work tree)
// into the clone at dir, commits everything and returns the new HEAD SHA.
func (c *Client) CommitFiles(tb testing.TB, dir, message string, files map[string]string) string {
	tb.Helper()
	if err := writeFiles(dir, files); err != nil {
		tb.Fatalf("gitserver: %v", err)
	}
	c.MustRun(tb, dir, "add", "-A")
	c.MustRun(tb, dir, "commit", "--allow-empty", "-m", message)
	return c.MustRun(tb, dir, "rev-parse", "HEAD")
}

// Push pushes refspecs from the clone at dir to its origin.
func (c *Client) Push(tb testing.TB, dir string, refspecs ...string) {
	tb.Helper()
	c.MustRun(tb, dir, append([]string{"push", "origin"}, refspecs...)...)
}

// writeFiles writes files below root, refusing paths that would land outside
// it or inside .git.
func writeFiles(root string, files map[string]string) error {
	for name, content := range files {
		p, err := localPath(root, name)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

func localPath(root, name string) (string, error) {
	rel := filepath.FromSlash(name)
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("path %q is not local to the work tree", name)
	}
	if first, _, _ := strings.Cut(filepath.ToSlash(filepath.Clean(rel)), "/"); first == ".git" {
		return "", fmt.Errorf("path %q is inside .git", name)
	}
	return filepath.Join(root, rel), nil
}
