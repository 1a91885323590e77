package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/appstate"
	"soll.dev/internal/testenv/gitserver"
)

// createOps creates the Project ops with the role ci.
func (h *harness) createOps() {
	h.t.Helper()
	proj := &sollv1.Project{ObjectMeta: objectMeta("ops", h.ns), Spec: sollv1.ProjectSpec{
		SourceRepos: []string{"*"}, Destinations: []sollv1.ProjectDestination{{Server: "*", Namespace: "*"}},
		Roles: []sollv1.ProjectRole{{Name: "ci", Policies: []string{"p, proj:ops:ci, applications, get, ops/*, allow"}}},
	}}
	if err := h.env.Client.Create(context.Background(), proj); err != nil {
		h.t.Fatal(err)
	}
}

// TestRBACDenials: a caller without the right gets 403 on every resource
// and action the new endpoints check, and nothing changes.
func TestRBACDenials(t *testing.T) {
	h := newHarness(t)
	h.createOps()
	h.must(http.MethodPost, "/api/v1/accounts", map[string]any{"name": "bob", "capabilities": []string{"apiKey"}}, http.StatusCreated, nil)
	var tok apitypes.Token
	h.must(http.MethodPost, "/api/v1/accounts/bob/tokens", map[string]any{"id": "b1"}, http.StatusCreated, &tok)
	h.must(http.MethodPost, "/api/v1/projects/ops/roles/ci/tokens", map[string]any{"id": "c1"}, http.StatusCreated, nil)
	var repo apitypes.Repository
	h.must(http.MethodPost, "/api/v1/repositories", map[string]any{"url": "https://git.example.com/a.git", "bearerToken": "t0k3n"}, http.StatusCreated, &repo)
	repoBody := map[string]any{"url": "https://git.example.com/b.git", "bearerToken": "t0k3n"}

	tests := []struct {
		resource, action string
		method, path     string
		body             any
	}{
		{"accounts", "create", http.MethodPost, "/api/v1/accounts", map[string]any{"name": "mallory"}},
		{"accounts", "get", http.MethodGet, "/api/v1/accounts/bob", nil},
		{"accounts", "update", http.MethodPatch, "/api/v1/accounts/bob", map[string]any{"enabled": false}},
		{"accounts", "update", http.MethodPut, "/api/v1/accounts/bob/password", map[string]any{"newPassword": "taken over!"}},
		{"accounts", "update", http.MethodPost, "/api/v1/accounts/bob/tokens", nil},
		{"accounts", "update", http.MethodDelete, "/api/v1/accounts/bob/tokens/b1", nil},
		{"accounts", "delete", http.MethodDelete, "/api/v1/accounts/bob", nil},
		{"projects", "update", http.MethodPost, "/api/v1/projects/ops/roles/ci/tokens", nil},
		{"projects", "update", http.MethodDelete, "/api/v1/projects/ops/roles/ci/tokens/c1", nil},
		{"projects", "update", http.MethodPatch, "/api/v1/projects/ops", map[string]any{"spec": map[string]any{"sourceRepos": []string{"*"}}}},
		{"projects", "update", http.MethodPatch, "/api/v1/projects/team-a", map[string]any{"spec": map[string]any{"description": "x"}}},
		{"repositories", "create", http.MethodPost, "/api/v1/repositories", repoBody},
		{"repositories", "create", http.MethodPost, "/api/v1/repositories/test", repoBody},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s: %s %s", tt.resource, tt.action, tt.method, tt.path), func(t *testing.T) {
			h := h.in(t)
			status, b := h.do(tt.method, tt.path, "alice-token", tt.body)
			e := h.wantError(status, b, http.StatusForbidden, "Forbidden", "")
			if !strings.Contains(e.Message, tt.action+" "+tt.resource) {
				t.Errorf("message does not name %s %s: %s", tt.action, tt.resource, e.Message)
			}
		})
	}
	// A repository Secret alice may not get is answered as a missing one.
	for _, tt := range []struct{ method, path string }{
		{http.MethodPost, "/api/v1/repositories/%s/test"},
		{http.MethodDelete, "/api/v1/repositories/%s"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			h := h.in(t)
			status, b := h.do(tt.method, fmt.Sprintf(tt.path, repo.Name), "alice-token", nil)
			missing, mb := h.do(tt.method, fmt.Sprintf(tt.path, "repo-missing"), "alice-token", nil)
			h.wantError(status, b, http.StatusNotFound, "NotFound", "")
			if status != missing || strings.ReplaceAll(string(b), repo.Name, "repo-missing") != string(mb) {
				t.Errorf("%s: %d %s, for a missing Secret %d %s", repo.Name, status, b, missing, mb)
			}
		})
	}
	t.Run("repositories update: POST /api/v1/repositories?upsert=true", func(t *testing.T) {
		h := h.in(t)
		status, b := h.do(http.MethodPost, "/api/v1/repositories?upsert=true", "dave-token", map[string]any{"url": "https://git.example.com/a.git", "bearerToken": "other"})
		if e := h.wantError(status, b, http.StatusForbidden, "Forbidden", ""); !strings.Contains(e.Message, "update repositories") {
			t.Errorf("message: %s", e.Message)
		}
	})
	// Nothing changed, and lists only hold what alice may get.
	var bob apitypes.Account
	h.must(http.MethodGet, "/api/v1/accounts/bob", nil, http.StatusOK, &bob)
	if !bob.Enabled || len(bob.Tokens) != 1 {
		t.Errorf("bob changed: %+v", bob)
	}
	h.wantStatus(http.MethodGet, "/api/v1/session", tok.Token, http.StatusOK)
	for _, path := range []string{"/api/v1/accounts", "/api/v1/repositories"} {
		status, b := h.do(http.MethodGet, path, "alice-token", nil)
		if status != http.StatusOK || string(b) != "{\"items\":[]}\n" {
			t.Errorf("alice lists %s: %d %s", path, status, b)
		}
	}
	var list struct{ Items []apitypes.Repository }
	h.must(http.MethodGet, "/api/v1/repositories", nil, http.StatusOK, &list)
	if len(list.Items) != 1 {
		t.Errorf("repositories: %+v", list.Items)
	}
}

// TestSecretsNeverAppear: passwords, tokens and keys are in no answer but
// the one that issues a token, in no log line, Event or audit entry.
func TestSecretsNeverAppear(t *testing.T) {
	h := newHarness(t)
	h.createOps()
	git := gitserver.NewHTTP(t, gitserver.HTTPOptions{Username: "bot", Password: repoPassword})
	git.CreateRepo(t, "app", "")
	key := gitserver.NewKeyPair(t)
	keyBody := strings.Split(strings.TrimSpace(string(key.PrivateKeyPEM)), "\n")[2]
	secrets := []string{"bob's first password", "bob's second password", repoPassword, "wrong-password-3e9a", "bearer-secret-5f7c", keyBody}

	var answers []string
	call := func(method, path, token string, body any, want int) []byte {
		t.Helper()
		status, b := h.do(method, path, token, body)
		if status != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, b)
		}
		answers = append(answers, method+" "+path+": "+string(b))
		return b
	}
	call(http.MethodPost, "/api/v1/accounts", "admin-token", map[string]any{"name": "bob", "capabilities": []string{"login", "apiKey"}, "password": secrets[0]}, http.StatusCreated)
	session := h.login("bob", secrets[0])
	secrets = append(secrets, session)
	call(http.MethodPut, "/api/v1/accounts/bob/password", session, map[string]any{"currentPassword": "not it", "newPassword": secrets[1]}, http.StatusBadRequest)
	call(http.MethodPut, "/api/v1/accounts/bob/password", session, map[string]any{"currentPassword": secrets[0], "newPassword": secrets[1]}, http.StatusNoContent)

	var issued []string
	for _, path := range []string{"/api/v1/accounts/bob/tokens", "/api/v1/projects/ops/roles/ci/tokens"} {
		var tok apitypes.Token
		status, b := h.do(http.MethodPost, path, "admin-token", nil)
		if status != http.StatusCreated || !decodeInto(b, &tok) || strings.Count(string(b), tok.Token) != 1 {
			t.Fatalf("%s: %d %s", path, status, b)
		}
		issued = append(issued, tok.Token)
	}
	secrets = append(secrets, issued...)
	call(http.MethodPost, "/api/v1/repositories", "admin-token", map[string]any{"url": git.HTTPURL("app"), "username": "bot", "password": repoPassword}, http.StatusCreated)
	call(http.MethodPost, "/api/v1/repositories", "admin-token", map[string]any{"url": "ssh://git@git.example.com/app.git", "sshPrivateKey": string(key.PrivateKeyPEM)}, http.StatusCreated)
	call(http.MethodPost, "/api/v1/repositories", "admin-token", map[string]any{"url": "https://git.example.com/x.git", "bearerToken": "bearer-secret-5f7c"}, http.StatusCreated)
	call(http.MethodPost, "/api/v1/repositories/test", "admin-token", map[string]any{"url": git.HTTPURL("app"), "username": "bot", "password": "wrong-password-3e9a"}, http.StatusOK)
	call(http.MethodPost, "/api/v1/repositories/test", "admin-token", map[string]any{"url": git.HTTPURL("app"), "username": "bot", "password": repoPassword}, http.StatusOK)
	call(http.MethodPost, "/api/v1/repositories", "admin-token", map[string]any{"url": "https://bot:" + repoPassword + "@x.example.com/a.git", "bearerToken": "bearer-secret-5f7c"}, http.StatusBadRequest)
	for _, path := range []string{"/api/v1/accounts", "/api/v1/accounts/bob", "/api/v1/repositories", "/api/v1/projects/ops", "/api/v1/audit", "/api/v1/session"} {
		call(http.MethodGet, path, "admin-token", nil, http.StatusOK)
	}
	for _, tok := range issued {
		call(http.MethodGet, "/api/v1/session", tok, nil, http.StatusOK)
	}

	h.eventually(10*time.Second, "the project's audit Events", func() bool { return len(h.auditEvents()) >= 1 })
	var evs []string
	for _, ev := range h.auditEvents() {
		evs = append(evs, ev.Note)
	}
	audit, err := h.env.Kube.CoreV1().ConfigMaps(h.ns).Get(context.Background(), AuditConfigMap, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	places := map[string]string{
		"answers":      strings.Join(answers, "\n"),
		"the log":      h.log.String(),
		"Events":       strings.Join(evs, "\n"),
		"audit record": audit.Data[AuditKey],
	}
	for where, text := range places {
		if text == "" {
			t.Errorf("%s: nothing recorded", where)
		}
		for i, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("secret %d is in %s", i, where)
			}
		}
	}
}

func TestManifests(t *testing.T) {
	var asked []string
	h := newHarness(t, func(o *Options) {
		o.Manifests = func(_ context.Context, app *sollv1.Application, revisions []string) (*appstate.Manifests, error) {
			asked = revisions
			sec := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
				"metadata": map[string]any{"name": "db", "namespace": app.Spec.Destination.Namespace},
				"data":     map[string]any{"password": "c2VjcmV0LXZhbHVl"}, "stringData": map[string]any{"token": "plain-token"}}}
			cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": "settings", "namespace": app.Spec.Destination.Namespace}, "data": map[string]any{"mode": "fast"}}}
			return &appstate.Manifests{Revisions: []string{"0123456789012345678901234567890123456789"}, Objects: []*unstructured.Unstructured{sec, cm}}, nil
		}
	})
	h.createApp("web", "team-a", "web", nil)
	var m apitypes.Manifests
	h.must(http.MethodGet, "/api/v1/applications/web/manifests?revision=v2", nil, http.StatusOK, &m)
	if len(asked) != 1 || asked[0] != "v2" || len(m.Revisions) != 1 || len(m.Items) != 2 {
		t.Fatalf("manifests: asked %q, got %+v", asked, m)
	}
	sec, cm := m.Items[0], m.Items[1]
	data, _, _ := unstructured.NestedStringMap(sec.Object, "data")
	stringData, _, _ := unstructured.NestedStringMap(sec.Object, "stringData")
	if data["password"] == "c2VjcmV0LXZhbHVl" || data["password"] == "" || stringData["token"] == "plain-token" {
		t.Errorf("Secret values are shown: %v %v", data, stringData)
	}
	if mode, _, _ := unstructured.NestedString(cm.Object, "data", "mode"); mode != "fast" || cm.GetNamespace() != "web" {
		t.Errorf("ConfigMap: %v", cm.Object)
	}
	status, b := h.do(http.MethodGet, "/api/v1/applications/web/manifests?revision=a&revision=b", "admin-token", nil)
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "revision")
	status, b = h.do(http.MethodGet, "/api/v1/applications/web/manifests", "", nil)
	h.wantError(status, b, http.StatusUnauthorized, "Unauthorized", "")
	h.createApp("other", "team-b", "b", nil)
	status, b = h.do(http.MethodGet, "/api/v1/applications/other/manifests", "alice-token", nil)
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")
}
