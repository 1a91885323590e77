package git_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"soll.dev/internal/source/git"
	"soll.dev/internal/testenv/gitserver"
)

const fixtureDir = "testdata/repo"

// fixture returns a copy of testdata/repo with what this repository's own
// version control might not keep: an executable bit and symbolic links, one
// inside the tree, one leaving it, one absolute.
func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(fixtureDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "bin/hook.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"apps/link.yaml": "web/configmap.yaml",
		"apps/escape":    "../../outside",
		"abs":            "/etc/hostname",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// newFetcher returns a Fetcher with a private cache. Snapshots are
// read-only, so the cache is made writable again before t.TempDir removes
// it; otherwise cleanup fails for non-root users.
func newFetcher(t *testing.T, opts git.Options) *git.Fetcher {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = t.TempDir()
		cache := opts.CacheDir
		t.Cleanup(func() { makeWritable(t, cache) })
	}
	f, err := git.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func makeWritable(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
}

// httpRepo serves repository "demo", built from the fixture, over plain
// HTTP and returns the server, its URL and the initial commit.
func httpRepo(t *testing.T, opts gitserver.HTTPOptions) (*gitserver.HTTPServer, string, string) {
	t.Helper()
	srv := gitserver.NewHTTP(t, opts)
	head := srv.CreateRepo(t, "demo", fixture(t))
	return srv, srv.HTTPURL("demo"), head
}

// stats returns the counters of repoURL.
func stats(t *testing.T, f *git.Fetcher, repoURL string) git.RepoStats {
	t.Helper()
	key, err := git.NormalizeURL(repoURL)
	if err != nil {
		t.Fatal(err)
	}
	return f.Stats()[key]
}

// fakeClock is a git.Clock that only moves when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
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

// wantNoSecrets asserts that err's text holds none of secrets.
func wantNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error reveals secret %q:\n%v", s, err)
		}
	}
}
