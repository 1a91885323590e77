package gitserver

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// withUser returns rawURL with basic-auth credentials embedded.
func withUser(t *testing.T, rawURL string, user *url.Userinfo) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = user
	return u.String()
}

func TestHTTPCloneWithoutAuth(t *testing.T) {
	t.Parallel()
	repos, head := newRepos(t)
	srv := NewHTTP(t, HTTPOptions{Repos: repos})
	c := NewClient(t)

	if !strings.HasPrefix(srv.HTTPURL("demo"), "http://127.0.0.1:") {
		t.Fatalf("HTTPURL = %s, want a loopback http URL", srv.HTTPURL("demo"))
	}
	checkClone(t, c, c.Clone(t, srv.HTTPURL("demo")), head)

	_, err := c.Run("", "clone", srv.HTTPURL("missing"), t.TempDir()+"/missing")
	wantErr(t, err, "not found")
}

func TestHTTPBasicAuth(t *testing.T) {
	t.Parallel()
	repos, head := newRepos(t)
	srv := NewHTTP(t, HTTPOptions{Repos: repos, Username: "alice", Password: "s3cret"})
	c := NewClient(t)
	base := srv.HTTPURL("demo")

	t.Run("right credentials", func(t *testing.T) {
		checkClone(t, c, c.Clone(t, withUser(t, base, url.UserPassword("alice", "s3cret"))), head)
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := c.Run("", "clone", withUser(t, base, url.UserPassword("alice", "wrong")), t.TempDir()+"/c")
		wantErr(t, err, "Authentication failed")
	})
	t.Run("wrong user", func(t *testing.T) {
		_, err := c.Run("", "clone", withUser(t, base, url.UserPassword("mallory", "s3cret")), t.TempDir()+"/c")
		wantErr(t, err, "Authentication failed")
	})
	t.Run("no credentials", func(t *testing.T) {
		// git asks for credentials only after a 401; with prompts disabled
		// and no helper, that is where it gives up.
		_, err := c.Run("", "clone", base, t.TempDir()+"/c")
		wantErr(t, err, "could not read Username", "terminal prompts disabled")
	})
	t.Run("challenge", func(t *testing.T) {
		resp, err := http.Get(base + "/info/refs?service=git-upload-pack")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", resp.StatusCode)
		}
		if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic ") {
			t.Errorf("WWW-Authenticate = %q, want a Basic challenge", got)
		}
	})
}

func TestHTTPS(t *testing.T) {
	t.Parallel()
	repos, head := newRepos(t)
	srv := NewHTTP(t, HTTPOptions{Repos: repos, TLS: true})
	c := NewClient(t)
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") {
		t.Fatalf("URL = %s, want a loopback https URL", srv.URL)
	}

	t.Run("client trusting the CA", func(t *testing.T) {
		dir := t.TempDir() + "/c"
		c.MustRun(t, "", "-c", "http.sslCAInfo="+srv.CAFile(t), "clone", srv.HTTPURL("demo"), dir)
		checkClone(t, c, dir, head)
	})
	t.Run("client without the CA", func(t *testing.T) {
		_, err := c.Run("", "clone", srv.HTTPURL("demo"), t.TempDir()+"/c")
		wantErr(t, err, "certificate")
	})
	t.Run("go client with CAPool", func(t *testing.T) {
		resp, err := srv.HTTPClient().Get(srv.HTTPURL("demo") + "/info/refs?service=git-upload-pack")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.Header.Get("Content-Type"), "application/x-git-upload-pack-advertisement"; got != want {
			t.Errorf("status %d, Content-Type = %q, want %q", resp.StatusCode, got, want)
		}
	})
	t.Run("go client without CAPool", func(t *testing.T) {
		_, err := http.Get(srv.URL)
		wantErr(t, err, "certificate signed by unknown authority")
	})
}

func TestHTTPPush(t *testing.T) {
	t.Parallel()
	repos, _ := newRepos(t)
	srv := NewHTTP(t, HTTPOptions{Repos: repos, Username: "alice", Password: "s3cret", TLS: true})
	c := NewClient(t).With("GIT_SSL_CAINFO=" + srv.CAFile(t))
	dir := c.Clone(t, withUser(t, srv.HTTPURL("demo"), url.UserPassword("alice", "s3cret")))

	sha := c.CommitFiles(t, dir, "add app", map[string]string{"apps/web.yaml": "kind: Deployment\n"})
	c.Push(t, dir, "HEAD:refs/heads/main")
	if got := repos.Head(t, "demo", "main"); got != sha {
		t.Errorf("server main = %s, want pushed commit %s", got, sha)
	}
	if got, err := repos.git(repos.Dir("demo"), "show", "main:apps/web.yaml"); err != nil || got != "kind: Deployment" {
		t.Errorf("server apps/web.yaml = %q, %v; want the pushed content", got, err)
	}
}

// TestHTTPPushChunked pushes more than http.postBuffer, which makes git send
// the pack with chunked transfer encoding that net/http/cgi cannot pass on.
func TestHTTPPushChunked(t *testing.T) {
	t.Parallel()
	repos, _ := newRepos(t)
	srv := NewHTTP(t, HTTPOptions{Repos: repos})
	c := NewClient(t)
	dir := c.Clone(t, srv.HTTPURL("demo"))

	// Random bytes do not compress, so the pack really exceeds the buffer.
	blob := make([]byte, 256<<10)
	rand.Read(blob)
	sha := c.CommitFiles(t, dir, "add blob", map[string]string{"blob.hex": hex.EncodeToString(blob)})
	c.MustRun(t, dir, "-c", "http.postBuffer=65536", "push", "origin", "HEAD:refs/heads/main")
	if got := repos.Head(t, "demo", "main"); got != sha {
		t.Errorf("server main = %s, want pushed commit %s", got, sha)
	}
}
