package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// serve sends r to a Handler with cfg and returns the status and body.
func serve(t *testing.T, cfg Config, onPush func(context.Context, Push) (int, error), r *http.Request) (int, map[string]any) {
	t.Helper()
	w := httptest.NewRecorder()
	(&Handler{Config: cfg, OnPush: onPush, Log: quiet}).ServeHTTP(w, r)
	return w.Code, decodeBody(t, w.Body.Bytes())
}

func decodeBody(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer %q is not JSON: %v", b, err)
	}
	return m
}

func TestHandlerReadsEachProvidersPush(t *testing.T) {
	want := map[string][]Push{
		GitHub: {{
			Provider: GitHub,
			RepoURLs: []string{"https://github.com/acme/deploy-config.git", "git@github.com:acme/deploy-config.git", "https://github.com/acme/deploy-config"},
			Ref:      "refs/heads/main", Branch: "main",
			After: "2d3c6a1e0b9f4c8d7e6f5a4b3c2d1e0f9a8b7c6d", DefaultBranch: "main",
		}},
		GitLab: {{
			Provider: GitLab,
			RepoURLs: []string{
				"https://gitlab.example.com/infra/platform/platform-manifests.git",
				"git@gitlab.example.com:infra/platform/platform-manifests.git",
				"https://gitlab.example.com/infra/platform/platform-manifests",
			},
			Ref: "refs/heads/production", Branch: "production",
			After: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", DefaultBranch: "main",
		}},
		BitbucketCloud: {{
			Provider: BitbucketCloud,
			RepoURLs: []string{"https://bitbucket.org/northwind/cluster-state", "https://bitbucket.org/northwind/cluster-state.git", "git@bitbucket.org:northwind/cluster-state.git"},
			Ref:      "refs/heads/staging", Branch: "staging",
			After: "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00",
		}, {
			Provider: BitbucketCloud,
			RepoURLs: []string{"https://bitbucket.org/northwind/cluster-state", "https://bitbucket.org/northwind/cluster-state.git", "git@bitbucket.org:northwind/cluster-state.git"},
			Ref:      "refs/tags/release-7", Tag: "release-7",
			After: "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00",
		}},
		BitbucketServer: {{
			Provider: BitbucketServer,
			RepoURLs: []string{
				"ssh://git@bitbucket.example.com:7999/plat/gitops.git",
				"https://bitbucket.example.com/scm/plat/gitops.git",
				"https://bitbucket.example.com/projects/PLAT/repos/gitops/browse",
			},
			Ref: "refs/heads/release/2026.03", Branch: "release/2026.03",
			After: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		}},
		Gitea: {{
			Provider: Gitea,
			RepoURLs: []string{"https://gitea.example.com/ops/apps.git", "ssh://git@gitea.example.com:2222/ops/apps.git", "https://gitea.example.com/ops/apps"},
			Ref:      "refs/heads/develop", Branch: "develop",
			After: "4444444444444444444444444444444444444444", DefaultBranch: "main",
		}},
		Forgejo: {{
			Provider: Forgejo,
			RepoURLs: []string{"https://code.example.org/tinker/homelab.git", "forgejo@code.example.org:tinker/homelab.git", "https://code.example.org/tinker/homelab"},
			Ref:      "refs/tags/v0.9.0", Tag: "v0.9.0",
			After: "6666666666666666666666666666666666666666", DefaultBranch: "trunk",
		}},
		Generic: {{
			Provider: Generic,
			RepoURLs: []string{"https://git.example.net/team/config.git"},
			Ref:      "refs/heads/main", Branch: "main",
			After: "7777777777777777777777777777777777777777", DefaultBranch: "main",
		}},
	}
	for _, s := range senders {
		t.Run(s.name, func(t *testing.T) {
			rec := &recorder{}
			body := readTestdata(t, s.file)
			code, answer := serve(t, testConfig, rec.onPush, s.newRequest(s.push, body, s.secret(testConfig)))
			if code != http.StatusOK {
				t.Fatalf("status %d %v, want 200", code, answer)
			}
			if diff := cmp.Diff(want[s.name], rec.pushes); diff != "" {
				t.Errorf("pushes (-want +got):\n%s", diff)
			}
			if got := answer["matched"]; got != float64(len(want[s.name])) {
				t.Errorf("matched = %v, want %d", got, len(want[s.name]))
			}
		})
	}
}

func TestHandlerGitLabTagPushUsesTheCommit(t *testing.T) {
	rec := &recorder{}
	s := senders[1]
	headers := map[string]string{"X-Gitlab-Event": "Tag Push Hook"}
	code, answer := serve(t, testConfig, rec.onPush, s.newRequest(headers, readTestdata(t, "gitlab-tag-push.json"), testConfig.GitLabSecret))
	if code != http.StatusOK || len(rec.pushes) != 1 {
		t.Fatalf("status %d %v, pushes %v", code, answer, rec.pushes)
	}
	p := rec.pushes[0]
	if p.Tag != "v1.4.0" || p.After != "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432" {
		t.Errorf("push %+v, want tag v1.4.0 at the checkout_sha commit", p)
	}
}

func TestHandlerRefusesUnauthenticated(t *testing.T) {
	for _, s := range senders {
		body := readTestdata(t, s.file)
		secret := s.secret(testConfig)
		cases := map[string]struct {
			cfg    Config
			secret string
			edit   func(*http.Request)
			want   int
		}{
			"valid":                       {testConfig, secret, nil, http.StatusOK},
			"unsigned":                    {testConfig, "", nil, http.StatusUnauthorized},
			"wrong secret":                {testConfig, secret + "x", nil, http.StatusUnauthorized},
			"unsigned, AllowUnsigned":     {withAllowUnsigned(testConfig), "", nil, http.StatusUnauthorized},
			"not configured":              {Config{}, secret, nil, http.StatusUnauthorized},
			"not configured, unsigned":    {Config{}, "", nil, http.StatusUnauthorized},
			"not configured, AllowUnsign": {Config{AllowUnsigned: true}, "", nil, http.StatusOK},
			"body changed after signing": {testConfig, secret, func(r *http.Request) {
				r.Body = io.NopCloser(bytes.NewReader(append(bytes.Clone(body), ' ')))
			}, http.StatusUnauthorized},
		}
		if s.name == GitLab || s.name == BitbucketCloud {
			// Plain tokens do not cover the body.
			cases["body changed after signing"] = struct {
				cfg    Config
				secret string
				edit   func(*http.Request)
				want   int
			}{testConfig, secret, nil, http.StatusOK}
		}
		for name, tc := range cases {
			t.Run(s.name+"/"+name, func(t *testing.T) {
				r := s.newRequest(s.push, body, tc.secret)
				if tc.edit != nil {
					tc.edit(r)
				}
				code, answer := serve(t, tc.cfg, (&recorder{}).onPush, r)
				if code != tc.want {
					t.Fatalf("status %d %v, want %d", code, answer, tc.want)
				}
				if code == http.StatusUnauthorized && answer["code"] != "unauthorized" {
					t.Errorf("code %v, want unauthorized", answer["code"])
				}
			})
		}
	}
}

func withAllowUnsigned(c Config) Config {
	c.AllowUnsigned = true
	return c
}

func TestHandlerMalformedSignatures(t *testing.T) {
	body := readTestdata(t, "github-push.json")
	for name, sig := range map[string]string{
		"no prefix":   hmacHex(testConfig.GitHubSecret, body),
		"sha1 prefix": "sha1=" + hmacHex(testConfig.GitHubSecret, body),
		"not hex":     "sha256=zz",
		"truncated":   "sha256=" + hmacHex(testConfig.GitHubSecret, body)[:40],
		"empty hex":   "sha256=",
	} {
		t.Run(name, func(t *testing.T) {
			r := senders[0].newRequest(senders[0].push, body, "")
			r.Header.Set("X-Hub-Signature-256", sig)
			if code, answer := serve(t, testConfig, nil, r); code != http.StatusUnauthorized {
				t.Errorf("status %d %v, want 401", code, answer)
			}
		})
	}
}

func TestHandlerBitbucketCloudSecret(t *testing.T) {
	s := senders[2]
	body := readTestdata(t, s.file)
	signed := func(secret string) *http.Request {
		r := s.newRequest(s.push, body, "")
		r.Header.Set("X-Hub-Signature", "sha256="+hmacHex(secret, body))
		return r
	}
	hmacOnly := Config{BitbucketCloudSecret: "bbc-hmac"}
	if code, a := serve(t, hmacOnly, nil, signed("bbc-hmac")); code != http.StatusOK {
		t.Errorf("signed: status %d %v, want 200", code, a)
	}
	if code, a := serve(t, hmacOnly, nil, signed("other")); code != http.StatusUnauthorized {
		t.Errorf("wrongly signed: status %d %v, want 401", code, a)
	}
	both := Config{BitbucketCloudSecret: "bbc-hmac", BitbucketCloudToken: "bbc-token"}
	if code, a := serve(t, both, nil, signed("bbc-hmac")); code != http.StatusUnauthorized {
		t.Errorf("signed without token: status %d %v, want 401", code, a)
	}
	r := signed("bbc-hmac")
	r.URL.RawQuery = "token=bbc-token"
	if code, a := serve(t, both, nil, r); code != http.StatusOK {
		t.Errorf("signed with token: status %d %v, want 200", code, a)
	}
}

func TestHandlerIgnoresOtherEvents(t *testing.T) {
	for _, s := range senders {
		t.Run(s.name, func(t *testing.T) {
			rec := &recorder{}
			body := []byte(`{"zen": "not a push"}`)
			code, answer := serve(t, testConfig, rec.onPush, s.newRequest(s.other, body, s.secret(testConfig)))
			if code != http.StatusAccepted || answer["ignored"] != true {
				t.Errorf("status %d %v, want 202 ignored", code, answer)
			}
			if len(rec.pushes) != 0 {
				t.Errorf("OnPush called with %v", rec.pushes)
			}
		})
	}
	// GitLab system hooks carry every kind of event; only pushes count.
	s := senders[1]
	r := s.newRequest(map[string]string{"X-Gitlab-Event": "System Hook"}, readTestdata(t, "gitlab-issue.json"), testConfig.GitLabSecret)
	if code, answer := serve(t, testConfig, nil, r); code != http.StatusAccepted {
		t.Errorf("system hook for an issue: status %d %v, want 202", code, answer)
	}
	// An unsigned ping is still refused: authentication comes first.
	r = senders[0].newRequest(senders[0].other, readTestdata(t, "github-ping.json"), "")
	if code, answer := serve(t, testConfig, nil, r); code != http.StatusUnauthorized {
		t.Errorf("unsigned ping: status %d %v, want 401", code, answer)
	}
}

func TestHandlerBadPayloads(t *testing.T) {
	for _, s := range senders {
		for name, tc := range map[string]struct {
			body, code string
		}{
			"malformed":        {`{"ref": "refs/heads/main",`, "malformed_payload"},
			"not JSON":         {`ref=main`, "malformed_payload"},
			"array":            {`[]`, "unexpected_payload"},
			"no ref":           {`{"after": "abc"}`, "unexpected_payload"},
			"wrong type":       {`{"ref": 7, "repository": 7, "project": 7, "push": 7, "changes": 7, "object_kind": "push"}`, "unexpected_payload"},
			"no repository":    {`{"ref": "refs/heads/main", "object_kind": "push", "changes": [{"ref": {"id": "refs/heads/main"}}], "push": {"changes": [{"new": {"type": "branch", "name": "main"}}]}}`, "unexpected_payload"},
			"empty object":     {`{}`, "unexpected_payload"},
			"trailing garbage": {`{"ref": "refs/heads/main"} x`, "malformed_payload"},
		} {
			if s.name == BitbucketCloud || s.name == BitbucketServer {
				if name == "no ref" || name == "empty object" {
					continue // no changes is a push of nothing; see below
				}
			}
			t.Run(s.name+"/"+name, func(t *testing.T) {
				body := []byte(tc.body)
				code, answer := serve(t, testConfig, nil, s.newRequest(s.push, body, s.secret(testConfig)))
				if code != http.StatusBadRequest || answer["code"] != tc.code {
					t.Errorf("status %d %v, want 400 %s", code, answer, tc.code)
				}
				if msg, _ := answer["message"].(string); msg == "" {
					t.Errorf("no message in %v", answer)
				}
			})
		}
	}
	// A Bitbucket push without ref changes is accepted and ignored.
	for _, s := range senders[2:4] {
		code, answer := serve(t, testConfig, nil, s.newRequest(s.push, []byte(`{}`), s.secret(testConfig)))
		if code != http.StatusAccepted {
			t.Errorf("%s push without changes: status %d %v, want 202", s.name, code, answer)
		}
	}
}

func TestHandlerTooManyChanges(t *testing.T) {
	s := senders[3] // Bitbucket Server
	var b strings.Builder
	b.WriteString(`{"repository": {"links": {"clone": [{"href": "https://bitbucket.example.com/scm/plat/gitops.git"}]}}, "changes": [`)
	for i := range maxChanges + 1 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"ref": {"id": "refs/tags/t` + strings.Repeat("x", i%5) + `"}, "toHash": "ab"}`)
	}
	b.WriteString("]}")
	rec := &recorder{}
	code, answer := serve(t, testConfig, rec.onPush, s.newRequest(s.push, []byte(b.String()), testConfig.BitbucketServerSecret))
	if code != http.StatusBadRequest || len(rec.pushes) != 0 {
		t.Errorf("status %d %v with %d pushes, want 400 and none", code, answer, len(rec.pushes))
	}
}

func TestHandlerDeletedBranchHasNoCommit(t *testing.T) {
	s := senders[0]
	body := []byte(`{"ref": "refs/heads/old", "after": "0000000000000000000000000000000000000000", "deleted": true,
		"repository": {"clone_url": "https://github.com/acme/deploy-config.git", "default_branch": "main"}}`)
	rec := &recorder{}
	if code, answer := serve(t, testConfig, rec.onPush, s.newRequest(s.push, body, testConfig.GitHubSecret)); code != http.StatusOK {
		t.Fatalf("status %d %v", code, answer)
	}
	if p := rec.pushes[0]; p.After != "" || p.Branch != "old" {
		t.Errorf("push %+v, want branch old without a commit", p)
	}
}

func TestHandlerFormEncodedGitHub(t *testing.T) {
	s := senders[0]
	payload := readTestdata(t, s.file)
	body := []byte(url.Values{"payload": {string(payload)}}.Encode())
	r := s.newRequest(s.push, body, testConfig.GitHubSecret)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := &recorder{}
	if code, answer := serve(t, testConfig, rec.onPush, r); code != http.StatusOK || len(rec.pushes) != 1 {
		t.Fatalf("status %d %v, pushes %v", code, answer, rec.pushes)
	}
	if rec.pushes[0].Ref != "refs/heads/main" {
		t.Errorf("push %+v", rec.pushes[0])
	}
}

func TestHandlerGenericBareRefIsABranch(t *testing.T) {
	s := senders[6]
	body := []byte(`{"repository": "git@git.example.net:team/config.git", "ref": "main"}`)
	rec := &recorder{}
	if code, answer := serve(t, testConfig, rec.onPush, s.newRequest(s.push, body, testConfig.GenericSecret)); code != http.StatusOK {
		t.Fatalf("status %d %v", code, answer)
	}
	if p := rec.pushes[0]; p.Ref != "refs/heads/main" || p.Branch != "main" {
		t.Errorf("push %+v", p)
	}
	// Without X-Soll-Event a request is generic too.
	r := s.newRequest(nil, body, testConfig.GenericSecret)
	if code, answer := serve(t, testConfig, rec.onPush, r); code != http.StatusOK {
		t.Errorf("without X-Soll-Event: status %d %v", code, answer)
	}
}

func TestHandlerOnlyPOST(t *testing.T) {
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodHead, http.MethodDelete} {
		w := httptest.NewRecorder()
		(&Handler{Config: testConfig, Log: quiet}).ServeHTTP(w, httptest.NewRequest(m, Path, nil))
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
			t.Errorf("%s: status %d, Allow %q; want 405, POST", m, w.Code, w.Header().Get("Allow"))
		}
	}
}

func TestHandlerOnPushError(t *testing.T) {
	s := senders[0]
	failing := func(context.Context, Push) (int, error) { return 0, errors.New("apiserver said no") }
	code, answer := serve(t, testConfig, failing, s.newRequest(s.push, readTestdata(t, s.file), testConfig.GitHubSecret))
	if code != http.StatusInternalServerError || answer["code"] != "refresh_failed" {
		t.Errorf("status %d %v, want 500 refresh_failed", code, answer)
	}
	if strings.Contains(answer["message"].(string), "apiserver") {
		t.Errorf("the answer leaks the internal error: %v", answer)
	}
}

// TestHandlerOversizeBody checks the cap on a real server, and that the
// server keeps serving afterwards.
func TestHandlerOversizeBody(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(&Handler{Config: testConfig, OnPush: rec.onPush, Log: quiet})
	defer srv.Close()
	s := senders[0]
	big := append([]byte(`{"ref": "refs/heads/main", "pad": "`), bytes.Repeat([]byte("a"), 2<<20)...)
	big = append(big, `"}`...)
	post := func(body []byte) (int, map[string]any) {
		t.Helper()
		r := s.newRequest(s.push, body, testConfig.GitHubSecret)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+Path, bytes.NewReader(body))
		req.Header = r.Header
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, decodeBody(t, b)
	}
	if code, answer := post(big); code != http.StatusRequestEntityTooLarge || answer["code"] != "payload_too_large" {
		t.Errorf("oversize: status %d %v, want 413", code, answer)
	}
	if code, answer := post(readTestdata(t, s.file)); code != http.StatusOK {
		t.Errorf("after oversize: status %d %v, want 200", code, answer)
	}

	// A smaller configured cap applies too.
	small := &Handler{Config: withMaxBody(testConfig, 100), Log: quiet}
	w := httptest.NewRecorder()
	small.ServeHTTP(w, s.newRequest(s.push, readTestdata(t, s.file), testConfig.GitHubSecret))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("MaxBodyBytes 100: status %d, want 413", w.Code)
	}
}

func withMaxBody(c Config, n int64) Config {
	c.MaxBodyBytes = n
	return c
}

// TestHandlerSlowBody checks that a client that stops sending mid-body is
// answered once the timeout passes.
func TestHandlerSlowBody(t *testing.T) {
	cfg := testConfig
	cfg.Timeout = 200 * time.Millisecond
	srv := httptest.NewServer(&Handler{Config: cfg, Log: quiet})
	defer srv.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write([]byte(`{"ref": "refs/heads/main", `)) }()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+Path, pr)
	req.ContentLength = 1000
	req.Header.Set("X-GitHub-Event", "push")
	start := time.Now()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408", resp.StatusCode)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answered after %s", d)
	}
}
