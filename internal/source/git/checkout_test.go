package git_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"soll.dev/internal/source"
	"soll.dev/internal/source/git"
	"soll.dev/internal/testenv/gitserver"
)

// entry describes one path of a snapshot: a file's content and mode, a
// link's target, or a directory.
type entry struct {
	Kind    string // "file", "link" or "dir"
	Mode    fs.FileMode
	Content string // file content or link target
}

// readTree lists every path below dir, without following links.
func readTree(t *testing.T, dir string) map[string]entry {
	t.Helper()
	got := map[string]entry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			got[rel] = entry{Kind: "link", Content: target}
			return err
		case d.IsDir():
			got[rel] = entry{Kind: "dir", Mode: info.Mode().Perm()}
		default:
			b, err := os.ReadFile(p)
			got[rel] = entry{Kind: "file", Mode: info.Mode().Perm(), Content: string(b)}
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func fixtureTree(t *testing.T) map[string]entry {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return map[string]entry{
		"README.md":               {Kind: "file", Mode: 0o444, Content: read("README.md")},
		"abs":                     {Kind: "link", Content: "/etc/hostname"},
		"apps":                    {Kind: "dir", Mode: 0o555},
		"apps/escape":             {Kind: "link", Content: "../../outside"},
		"apps/link.yaml":          {Kind: "link", Content: "web/configmap.yaml"},
		"apps/web":                {Kind: "dir", Mode: 0o555},
		"apps/web/configmap.yaml": {Kind: "file", Mode: 0o444, Content: read("apps/web/configmap.yaml")},
		"bin":                     {Kind: "dir", Mode: 0o555},
		"bin/hook.sh":             {Kind: "file", Mode: 0o555, Content: read("bin/hook.sh")},
	}
}

func TestCheckout(t *testing.T) {
	t.Parallel()
	srv, url, first := httpRepo(t, gitserver.HTTPOptions{})
	before := time.Now().Truncate(time.Second)
	second := srv.Commit(t, "demo", "main", gitserver.Change{
		Message: "Update greeting\n\nThe body explains why.\n",
		Files:   map[string]string{"apps/web/configmap.yaml": "changed\n", "apps/api/deploy.yaml": "kind: Deployment\n"},
		Remove:  []string{"README.md"},
	})
	after := time.Now()
	f := newFetcher(t, git.Options{})

	snap1, err := f.Checkout(t.Context(), url, first, source.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	snap2, err := f.Checkout(t.Context(), url, second, source.Credentials{})
	if err != nil {
		t.Fatal(err)
	}

	want1 := fixtureTree(t)
	if diff := cmp.Diff(want1, readTree(t, snap1.Dir)); diff != "" {
		t.Errorf("snapshot of the first commit (-want +got):\n%s", diff)
	}
	want2 := fixtureTree(t)
	delete(want2, "README.md")
	want2["apps/web/configmap.yaml"] = entry{Kind: "file", Mode: 0o444, Content: "changed\n"}
	want2["apps/api"] = entry{Kind: "dir", Mode: 0o555}
	want2["apps/api/deploy.yaml"] = entry{Kind: "file", Mode: 0o444, Content: "kind: Deployment\n"}
	if diff := cmp.Diff(want2, readTree(t, snap2.Dir)); diff != "" {
		t.Errorf("snapshot of the second commit (-want +got):\n%s", diff)
	}

	for _, s := range []source.Snapshot{snap1, snap2} {
		if !filepath.IsAbs(s.Dir) || filepath.Base(s.Dir) != s.Commit.SHA {
			t.Errorf("snapshot dir %s is not an absolute path named after commit %s", s.Dir, s.Commit.SHA)
		}
		if fi, err := os.Stat(s.Dir); err != nil || fi.Mode().Perm() != 0o555 {
			t.Errorf("snapshot dir mode = %v (%v), want 0555", fi.Mode().Perm(), err)
		}
	}

	c := snap2.Commit
	if c.SHA != second || c.Subject != "Update greeting" || c.Message != "Update greeting\n\nThe body explains why." {
		t.Errorf("commit = %+v, want SHA %s, subject and full message", c, second)
	}
	for _, sig := range []source.Signature{c.Author, c.Committer} {
		if sig.Name != gitserver.AuthorName || sig.Email != gitserver.AuthorEmail {
			t.Errorf("signature %s <%s>, want %s <%s>", sig.Name, sig.Email, gitserver.AuthorName, gitserver.AuthorEmail)
		}
		if sig.When.Before(before) || sig.When.After(after) {
			t.Errorf("signature time %v, want between %v and %v", sig.When, before, after)
		}
	}
	if snap1.Commit.SHA != first || snap1.Commit.Subject != "initial commit" {
		t.Errorf("first commit = %+v", snap1.Commit)
	}

	// Checking out again reuses the snapshot: no fetch, no new directory.
	again, err := f.Checkout(t.Context(), url, first, source.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(snap1, again); diff != "" {
		t.Errorf("second checkout differs (-first +second):\n%s", diff)
	}
	// The first commit is not a tip, so its fetch took the whole history,
	// the second commit included.
	st := stats(t, f, url)
	if st.Fetches != 1 || st.Snapshots != 2 || st.RefLists != 1 {
		t.Errorf("stats = %+v, want 1 fetch, 2 snapshots, 1 ref listing", st)
	}
}

func TestCheckoutShared(t *testing.T) {
	t.Parallel()
	_, url, head := httpRepo(t, gitserver.HTTPOptions{})
	f := newFetcher(t, git.Options{})
	const n = 20
	snaps := make([]source.Snapshot, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { snaps[i], errs[i] = f.Checkout(t.Context(), url, head, source.Credentials{}) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if diff := cmp.Diff(snaps[0], snaps[i]); diff != "" {
			t.Errorf("checkout %d differs (-first +this):\n%s", i, diff)
		}
	}
	st := stats(t, f, url)
	want := git.RepoStats{Checkouts: n, RefLists: 1, Fetches: 1, Snapshots: 1}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("%d concurrent checkouts of one commit: stats (-want +got):\n%s", n, diff)
	}
}

// TestCheckoutHistory checks out commits that are no longer a branch tip,
// before and after a shallow fetch of the tip.
func TestCheckoutHistory(t *testing.T) {
	t.Parallel()
	srv, url, c1 := httpRepo(t, gitserver.HTTPOptions{})
	c2 := srv.WriteFiles(t, "demo", "main", "two", map[string]string{"n.txt": "2\n"})
	c3 := srv.WriteFiles(t, "demo", "main", "three", map[string]string{"n.txt": "3\n"})
	tagged := srv.WriteFiles(t, "demo", "main", "four", map[string]string{"n.txt": "4\n"})
	srv.CreateAnnotatedTag(t, "demo", "v4", tagged, "four")
	tip := srv.WriteFiles(t, "demo", "main", "five", map[string]string{"n.txt": "5\n"})
	f := newFetcher(t, git.Options{})

	checkout := func(sha, wantN string) {
		t.Helper()
		snap, err := f.Checkout(t.Context(), url, sha, source.Credentials{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(snap.Dir, "n.txt"))
		if string(b) != wantN {
			t.Errorf("n.txt at %s = %q, want %q", sha, b, wantN)
		}
		if snap.Commit.SHA != sha {
			t.Errorf("commit %s, want %s", snap.Commit.SHA, sha)
		}
	}
	checkout(tip, "5\n")    // a branch tip: shallow
	checkout(tagged, "4\n") // an annotated tag's commit: shallow
	checkout(c2, "2\n")     // history: deepens the shallow cache
	checkout(c3, "3\n")     // already fetched with c2's history
	if _, err := f.Checkout(t.Context(), url, c1, source.Credentials{}); err != nil {
		t.Fatal(err)
	}
	if got := stats(t, f, url).Fetches; got != 3 {
		t.Errorf("%d fetches, want 3 (tip, tag, history)", got)
	}
}

func TestCheckoutUnknownCommit(t *testing.T) {
	t.Parallel()
	srv, url, _ := httpRepo(t, gitserver.HTTPOptions{})
	// A commit of another repository is not in this one.
	foreign := srv.CreateRepo(t, "foreign", "")
	f := newFetcher(t, git.Options{})
	for _, sha := range []string{foreign, strings.Repeat("0", 40)} {
		_, err := f.Checkout(t.Context(), url, sha, source.Credentials{})
		wantErr(t, err, sha, url, "not reachable from any branch or tag")
		if !errors.Is(err, source.ErrCommitNotFound) {
			t.Errorf("errors.Is(%v, ErrCommitNotFound) = false", err)
		}
	}
	for _, rev := range []string{"main", "abc123"} {
		_, err := f.Checkout(t.Context(), url, rev, source.Credentials{})
		wantErr(t, err, "not a full commit SHA")
	}
}

func TestCheckoutLimits(t *testing.T) {
	t.Parallel()
	_, url, head := httpRepo(t, gitserver.HTTPOptions{})
	tests := []struct {
		name string
		opts git.Options
		want string
	}{
		{"bytes", git.Options{MaxRepoBytes: 100}, "larger than 100 bytes (limit MaxRepoBytes)"},
		{"files", git.Options{MaxRepoFiles: 5}, "more than 5 files and directories (limit MaxRepoFiles)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.CacheDir = t.TempDir()
			f := newFetcher(t, tt.opts)
			_, err := f.Checkout(t.Context(), url, head, source.Credentials{})
			wantErr(t, err, tt.want, head, url)
			if !errors.Is(err, source.ErrLimitExceeded) {
				t.Errorf("errors.Is(%v, ErrLimitExceeded) = false", err)
			}
			// Nothing half-written is left behind.
			entries, _ := os.ReadDir(filepath.Join(tt.opts.CacheDir, "snapshots"))
			if len(entries) != 0 {
				t.Errorf("snapshots left after a failed checkout: %v", entries)
			}
		})
	}
}

// TestCheckoutReopen: a new Fetcher on the same cache directory (a restart)
// reuses the fetched objects and the snapshot.
func TestCheckoutReopen(t *testing.T) {
	t.Parallel()
	_, url, head := httpRepo(t, gitserver.HTTPOptions{})
	dir := t.TempDir()
	t.Cleanup(func() { makeWritable(t, dir) })
	first := newFetcher(t, git.Options{CacheDir: dir})
	snap, err := first.Checkout(t.Context(), url, head, source.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	second := newFetcher(t, git.Options{CacheDir: dir})
	again, err := second.Checkout(t.Context(), url, head, source.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(snap, again); diff != "" {
		t.Errorf("checkout after reopening differs (-before +after):\n%s", diff)
	}
	if st := stats(t, second, url); st.Fetches != 0 || st.Snapshots != 0 {
		t.Errorf("after reopening: %+v, want no fetch and no new snapshot", st)
	}
	names := func(dir string) []string {
		entries, _ := os.ReadDir(dir)
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		sort.Strings(out)
		return out
	}
	if got := names(filepath.Join(dir, "snapshots")); !cmp.Equal(got, []string{head}) {
		t.Errorf("snapshots = %v, want only %s", got, head)
	}
}
