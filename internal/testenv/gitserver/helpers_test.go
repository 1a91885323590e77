package gitserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const fixtureDir = "testdata/fixture"

// newRepos returns a root holding repository "demo" built from the fixture,
// and the SHA of its initial commit.
func newRepos(t *testing.T) (*Repos, string) {
	t.Helper()
	r := NewRepos(t)
	return r, r.CreateRepo(t, "demo", fixtureDir)
}

// checkClone asserts that the clone at dir is at wantHead and holds the
// fixture's README.
func checkClone(t *testing.T, c *Client, dir, wantHead string) {
	t.Helper()
	if got := c.MustRun(t, dir, "rev-parse", "HEAD"); got != wantHead {
		t.Errorf("clone HEAD = %s, want %s", got, wantHead)
	}
	want, err := os.ReadFile(filepath.Join(fixtureDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatalf("read cloned README: %v", err)
	}
	if string(got) != string(want) {
		t.Errorf("cloned README = %q, want %q", got, want)
	}
}

// wantErr asserts err is non-nil and mentions every one of substrs.
func wantErr(t *testing.T, err error, substrs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", substrs)
	}
	for _, s := range substrs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not mention %q:\n%v", s, err)
		}
	}
}

// lsRemote returns the refs the server advertises for url, keyed by name.
func lsRemote(t *testing.T, c *Client, url string) map[string]string {
	t.Helper()
	refs := map[string]string{}
	for line := range strings.Lines(c.MustRun(t, "", "ls-remote", url)) {
		sha, name, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok {
			t.Fatalf("unexpected ls-remote line %q", line)
		}
		refs[name] = sha
	}
	return refs
}

// waitSessions waits until no SSH session handler is running; the timeout
// only turns a hang into a failure.
func waitSessions(t *testing.T, s *SSHServer) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		s.waitIdle()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("ssh sessions still running 30s after the client went away")
	}
}
