package git_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"soll.dev/internal/source"
	"soll.dev/internal/source/git"
	"soll.dev/internal/testenv/gitserver"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	srv, url, initial := httpRepo(t, gitserver.HTTPOptions{})
	second := srv.WriteFiles(t, "demo", "main", "second", map[string]string{"two.txt": "2\n"})
	dev := srv.CreateBranch(t, "demo", "dev", initial)
	light := srv.CreateTag(t, "demo", "v1.0.0", initial)
	tagObject := srv.CreateAnnotatedTag(t, "demo", "v2.0.0", second, "release 2")
	// A tag named like a branch: the branch wins unless the tag is asked
	// for by its full name.
	srv.CreateTag(t, "demo", "dev", second)
	if tagObject == second {
		t.Fatal("annotated tag object has the commit's SHA; the test would prove nothing")
	}
	f := newFetcher(t, git.Options{})

	tests := []struct {
		revision string
		want     source.Revision
	}{
		{"main", source.Revision{Ref: "refs/heads/main", Commit: second}},
		{"dev", source.Revision{Ref: "refs/heads/dev", Commit: dev}},
		{"refs/tags/dev", source.Revision{Ref: "refs/tags/dev", Commit: second}},
		{"v1.0.0", source.Revision{Ref: "refs/tags/v1.0.0", Commit: light}},
		{"v2.0.0", source.Revision{Ref: "refs/tags/v2.0.0", Commit: second}},
		{"refs/tags/v2.0.0", source.Revision{Ref: "refs/tags/v2.0.0", Commit: second}},
		{"HEAD", source.Revision{Ref: "refs/heads/main", Commit: second}},
		{"", source.Revision{Ref: "refs/heads/main", Commit: second}},
		{initial, source.Revision{Commit: initial}},
		{strings.ToUpper(initial), source.Revision{Commit: initial}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.revision), func(t *testing.T) {
			got, err := f.Resolve(t.Context(), url, tt.revision, source.Credentials{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve(%q) mismatch (-want +got):\n%s", tt.revision, diff)
			}
		})
	}
	if got := stats(t, f, url).RefLists; got != 1 {
		t.Errorf("%d ref listings for %d resolves, want 1", got, len(tests))
	}
}

func TestResolveSHAWithoutNetwork(t *testing.T) {
	t.Parallel()
	f := newFetcher(t, git.Options{})
	// Nothing listens here: a network request would fail.
	url := "https://127.0.0.1:1/nowhere.git"
	sha := strings.Repeat("ab", 20)
	got, err := f.Resolve(t.Context(), url, sha, source.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Commit != sha || got.Ref != "" {
		t.Errorf("Resolve(sha) = %+v, want the SHA and no ref", got)
	}
	if got := stats(t, f, url).RefLists; got != 0 {
		t.Errorf("%d ref listings, want none", got)
	}
}

func TestResolveUnknownRevision(t *testing.T) {
	t.Parallel()
	srv, url, initial := httpRepo(t, gitserver.HTTPOptions{})
	srv.CreateBranch(t, "demo", "dev", initial)
	f := newFetcher(t, git.Options{})

	for _, rev := range []string{"nope", initial[:12]} {
		_, err := f.Resolve(t.Context(), url, rev, source.Credentials{})
		wantErr(t, err, `"`+rev+`"`, url, "available branches: dev, main")
		if !errors.Is(err, source.ErrRevisionNotFound) {
			t.Errorf("errors.Is(%v, ErrRevisionNotFound) = false", err)
		}
	}
	_, err := f.Resolve(t.Context(), url, initial[:12], source.Credentials{})
	wantErr(t, err, "abbreviated commit SHAs are not supported")
}

func TestResolveUnknownRepository(t *testing.T) {
	t.Parallel()
	srv, _, _ := httpRepo(t, gitserver.HTTPOptions{})
	f := newFetcher(t, git.Options{})
	url := srv.HTTPURL("missing")
	_, err := f.Resolve(t.Context(), url, "main", source.Credentials{})
	wantErr(t, err, `resolve revision "main"`, url)
	if !errors.Is(err, source.ErrRepositoryNotFound) {
		t.Errorf("errors.Is(%v, ErrRepositoryNotFound) = false", err)
	}
}

// TestResolveShared proves the central promise: one ref listing per
// repository per interval, however many applications ask.
func TestResolveShared(t *testing.T) {
	t.Parallel()
	srv, url, initial := httpRepo(t, gitserver.HTTPOptions{})
	clock := newFakeClock()
	f := newFetcher(t, git.Options{Clock: clock, RevisionTTL: time.Minute})

	resolveAll := func(n int) []source.Revision {
		t.Helper()
		revs := make([]source.Revision, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				// Spelled differently, the URL must still hit one entry.
				u := url
				if i%2 == 1 {
					u = strings.TrimSuffix(url, ".git") + "/"
				}
				revs[i], errs[i] = f.Resolve(t.Context(), u, "main", source.Credentials{})
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		return revs
	}

	for _, r := range resolveAll(50) {
		if r.Commit != initial {
			t.Fatalf("resolved %s, want %s", r.Commit, initial)
		}
	}
	if got := stats(t, f, url).RefLists; got != 1 {
		t.Fatalf("50 concurrent resolves made %d ref listings, want 1", got)
	}

	// A push within the TTL is not seen, and costs no request.
	pushed := srv.WriteFiles(t, "demo", "main", "push", map[string]string{"new.txt": "new\n"})
	clock.Advance(59 * time.Second)
	if r := resolveAll(10)[0]; r.Commit != initial {
		t.Errorf("within the TTL resolved %s, want the cached %s", r.Commit, initial)
	}
	if got := stats(t, f, url).RefLists; got != 1 {
		t.Errorf("resolves within the TTL made %d ref listings in all, want still 1", got)
	}

	// After the TTL, exactly one more request, and the push is seen.
	clock.Advance(time.Second)
	if r := resolveAll(20)[0]; r.Commit != pushed {
		t.Errorf("after the TTL resolved %s, want the pushed %s", r.Commit, pushed)
	}
	if got := stats(t, f, url).RefLists; got != 2 {
		t.Errorf("after the TTL %d ref listings in all, want 2", got)
	}
	if got := stats(t, f, url).Resolves; got != 80 {
		t.Errorf("counted %d resolves, want 80", got)
	}
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	srv, url, initial := httpRepo(t, gitserver.HTTPOptions{})
	f := newFetcher(t, git.Options{Clock: newFakeClock()})
	resolve := func() string {
		t.Helper()
		r, err := f.Resolve(t.Context(), url, "main", source.Credentials{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Commit
	}
	if got := resolve(); got != initial {
		t.Fatalf("resolved %s, want %s", got, initial)
	}
	pushed := srv.WriteFiles(t, "demo", "main", "push", map[string]string{"new.txt": "new\n"})
	if got := resolve(); got != initial {
		t.Errorf("before Refresh resolved %s, want the cached %s", got, initial)
	}
	f.Refresh(url + "/") // any spelling of the URL
	if got := resolve(); got != pushed {
		t.Errorf("after Refresh resolved %s, want the pushed %s", got, pushed)
	}
	if got := resolve(); got != pushed {
		t.Errorf("after Refresh resolved %s, want %s", got, pushed)
	}
	if got := stats(t, f, url).RefLists; got != 2 {
		t.Errorf("%d ref listings, want 2", got)
	}
}

// TestResolveCachePerCredentials: a cached answer obtained with good
// credentials must not be handed to a caller with bad ones.
func TestResolveCachePerCredentials(t *testing.T) {
	t.Parallel()
	_, url, initial := httpRepo(t, gitserver.HTTPOptions{Username: "alice", Password: "alice-secret"})
	f := newFetcher(t, git.Options{})

	good := source.Credentials{Username: "alice", Password: "alice-secret"}
	r, err := f.Resolve(t.Context(), url, "main", good)
	if err != nil {
		t.Fatal(err)
	}
	if r.Commit != initial {
		t.Fatalf("resolved %s, want %s", r.Commit, initial)
	}
	for _, creds := range []source.Credentials{{}, {Username: "alice", Password: "guess"}} {
		_, err := f.Resolve(t.Context(), url, "main", creds)
		if !errors.Is(err, source.ErrAuthentication) {
			t.Errorf("Resolve with %v = %v, want an authentication error", creds, err)
		}
	}
	if _, err := f.Resolve(t.Context(), url, "main", good); err != nil {
		t.Fatal(err)
	}
	if got := stats(t, f, url).RefLists; got != 3 {
		t.Errorf("%d ref listings, want 3 (one per set of credentials)", got)
	}
}

func TestResolveCanceled(t *testing.T) {
	t.Parallel()
	_, url, _ := httpRepo(t, gitserver.HTTPOptions{})
	f := newFetcher(t, git.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := f.Resolve(ctx, url, "main", source.Credentials{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Resolve with a canceled context = %v, want context.Canceled", err)
	}
}

func TestResolveTimeout(t *testing.T) {
	t.Parallel()
	// A server that accepts connections and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close() // the test is over; the fetch never read from it
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	url := "http://" + l.Addr().String() + "/stuck.git"
	f := newFetcher(t, git.Options{Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, err = f.Resolve(t.Context(), url, "main", source.Credentials{})
	wantErr(t, err, url, "timed out after 300ms")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Resolve took %v with a 300ms timeout", d)
	}
}

// TestResolveFailureShared: a failing repository costs one request per
// short interval too, not one per caller, and Refresh retries at once.
func TestResolveFailureShared(t *testing.T) {
	t.Parallel()
	_, url, _ := httpRepo(t, gitserver.HTTPOptions{Username: "alice", Password: "alice-secret"})
	clock := newFakeClock()
	f := newFetcher(t, git.Options{Clock: clock})
	bad := source.Credentials{Username: "alice", Password: "guess"}
	resolve := func() {
		t.Helper()
		if _, err := f.Resolve(t.Context(), url, "main", bad); !errors.Is(err, source.ErrAuthentication) {
			t.Fatalf("Resolve = %v, want an authentication error", err)
		}
	}
	for range 5 {
		resolve()
	}
	if got := stats(t, f, url).RefLists; got != 1 {
		t.Errorf("5 failing resolves made %d requests, want 1", got)
	}
	clock.Advance(10 * time.Second)
	resolve()
	f.Refresh(url)
	resolve()
	if got := stats(t, f, url).RefLists; got != 3 {
		t.Errorf("%d requests, want 3 (first, after 10s, after Refresh)", got)
	}
}
