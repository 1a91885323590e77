package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// quiet discards the Handler's log in tests.
var quiet = slog.New(slog.DiscardHandler)

// testConfig configures every provider with its own secret.
var testConfig = Config{
	GitHubSecret:          "gh-secret",
	GitLabSecret:          "gl-token",
	BitbucketServerSecret: "bbs-secret",
	BitbucketCloudToken:   "bbc-token",
	GiteaSecret:           "gitea-secret",
	GenericSecret:         "generic-secret",
}

// sender describes how one provider delivers a webhook.
type sender struct {
	name string
	// file is the push sample in testdata.
	file string
	// push and other are the headers of a push and of a non-push event.
	push, other map[string]string
	// secret picks the provider's secret out of a Config.
	secret func(Config) string
	// sign authenticates r, whose body is body, with secret.
	sign func(r *http.Request, body []byte, secret string)
}

func hmacHex(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func signHeader(header, prefix string) func(*http.Request, []byte, string) {
	return func(r *http.Request, body []byte, secret string) {
		r.Header.Set(header, prefix+hmacHex(secret, body))
	}
}

var senders = []sender{{
	name:   GitHub,
	file:   "github-push.json",
	push:   map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
	other:  map[string]string{"X-GitHub-Event": "ping"},
	secret: func(c Config) string { return c.GitHubSecret },
	sign:   signHeader("X-Hub-Signature-256", "sha256="),
}, {
	name:   GitLab,
	file:   "gitlab-push.json",
	push:   map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Instance": "https://gitlab.example.com"},
	other:  map[string]string{"X-Gitlab-Event": "Issue Hook"},
	secret: func(c Config) string { return c.GitLabSecret },
	sign:   func(r *http.Request, _ []byte, secret string) { r.Header.Set("X-Gitlab-Token", secret) },
}, {
	name:   BitbucketCloud,
	file:   "bitbucket-cloud-push.json",
	push:   map[string]string{"X-Event-Key": "repo:push", "X-Hook-UUID": "9b7d0c4e-1f2a-4b3c-8d9e-0f1a2b3c4d5e", "X-Request-UUID": "e1d2c3b4-a5f6-4789-8abc-def012345678", "X-Attempt-Number": "1"},
	other:  map[string]string{"X-Event-Key": "issue:created", "X-Hook-UUID": "9b7d0c4e-1f2a-4b3c-8d9e-0f1a2b3c4d5e"},
	secret: func(c Config) string { return c.BitbucketCloudToken },
	sign:   func(r *http.Request, _ []byte, secret string) { r.URL.RawQuery = "token=" + secret },
}, {
	name:   BitbucketServer,
	file:   "bitbucket-server-push.json",
	push:   map[string]string{"X-Event-Key": "repo:refs_changed", "X-Request-Id": "0c6a3b5e-8f7d-4e2c-9a1b-3d4e5f607182"},
	other:  map[string]string{"X-Event-Key": "diagnostics:ping"},
	secret: func(c Config) string { return c.BitbucketServerSecret },
	sign:   signHeader("X-Hub-Signature", "sha256="),
}, {
	name: Gitea,
	file: "gitea-push.json",
	// Gitea also sends GitHub's and Gogs' event headers.
	push:   map[string]string{"X-Gitea-Event": "push", "X-GitHub-Event": "push", "X-Gogs-Event": "push", "X-Gitea-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473"},
	other:  map[string]string{"X-Gitea-Event": "issues", "X-GitHub-Event": "issues"},
	secret: func(c Config) string { return c.GiteaSecret },
	sign:   signHeader("X-Gitea-Signature", ""),
}, {
	name:   Forgejo,
	file:   "forgejo-push.json",
	push:   map[string]string{"X-Forgejo-Event": "push", "X-Gitea-Event": "push", "X-GitHub-Event": "push"},
	other:  map[string]string{"X-Forgejo-Event": "release", "X-Gitea-Event": "release"},
	secret: func(c Config) string { return c.GiteaSecret },
	sign:   signHeader("X-Forgejo-Signature", ""),
}, {
	name:   Generic,
	file:   "generic-push.json",
	push:   map[string]string{"X-Soll-Event": "push"},
	other:  map[string]string{"X-Soll-Event": "tag-annotation"},
	secret: func(c Config) string { return c.GenericSecret },
	sign:   signHeader("X-Soll-Signature", "sha256="),
}}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newRequest builds a webhook request from s with headers and body,
// signed with secret unless it is empty.
func (s sender) newRequest(headers map[string]string, body []byte, secret string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	if secret != "" {
		s.sign(r, body, secret)
	}
	return r
}

// recorder is an OnPush that remembers the pushes and matches each once.
type recorder struct {
	mu     sync.Mutex
	pushes []Push
}

func (rec *recorder) onPush(_ context.Context, p Push) (int, error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.pushes = append(rec.pushes, p)
	return 1, nil
}
