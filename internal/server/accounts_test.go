package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/auth"
)

// login logs name in with password, as POST /api/v1/session does, and
// returns the session token.
func (h *harness) login(name, password string) string {
	h.t.Helper()
	tok, err := h.accounts.Login(context.Background(), name, password, "127.0.0.1")
	if err != nil {
		h.t.Fatalf("login %s: %v", name, err)
	}
	return tok
}

// wantStatus polls a request as token until it answers want: the
// accounts are read through a cache.
func (h *harness) wantStatus(method, path, token string, want int) {
	h.t.Helper()
	h.eventually(10*time.Second, method+" "+path+" answering "+http.StatusText(want), func() bool {
		status, _ := h.do(method, path, token, nil)
		return status == want
	})
}

func TestAccounts(t *testing.T) {
	h := newHarness(t)
	var bob apitypes.Account
	h.must(http.MethodPost, "/api/v1/accounts", map[string]any{"name": "bob", "capabilities": []string{"login", "apiKey"}, "password": "bob's password"}, http.StatusCreated, &bob)
	if bob.Name != "bob" || !bob.Enabled || !bob.HasPassword || !slices.Equal(bob.Capabilities, []string{"apiKey", "login"}) || bob.PasswordChangedAt == nil {
		t.Fatalf("created account: %+v", bob)
	}
	for _, tt := range []struct {
		name  string
		body  map[string]any
		code  string
		field string
	}{
		{"taken name", map[string]any{"name": "bob"}, "AlreadyExists", ""},
		{"bad name", map[string]any{"name": "Bob Smith"}, "Invalid", "name"},
		{"no name", map[string]any{"capabilities": []string{"login"}}, "Invalid", "name"},
		{"unknown capability", map[string]any{"name": "eve", "capabilities": []string{"login", "root"}}, "Invalid", "capabilities[1]"},
		{"short password", map[string]any{"name": "eve", "password": "short"}, "Invalid", "password"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := h.in(t)
			status, b := h.do(http.MethodPost, "/api/v1/accounts", "admin-token", tt.body)
			want := http.StatusBadRequest
			if tt.code == "AlreadyExists" {
				want = http.StatusConflict
			}
			h.wantError(status, b, want, tt.code, tt.field)
		})
	}
	status, _ := h.do(http.MethodGet, "/api/v1/accounts/eve", "admin-token", nil)
	if status != http.StatusNotFound {
		t.Errorf("a refused account was created: %d", status)
	}

	session := h.login("bob", "bob's password")
	// bob has no RBAC rights, yet sees and manages his own account.
	h.wantStatus(http.MethodGet, "/api/v1/accounts/bob", session, http.StatusOK)
	var list struct{ Items []apitypes.Account }
	status, b := h.do(http.MethodGet, "/api/v1/accounts", session, nil)
	if status != http.StatusOK || !decodeInto(b, &list) || len(list.Items) != 1 || list.Items[0].Name != "bob" {
		t.Errorf("bob lists accounts: %d %s", status, b)
	}
	h.must(http.MethodGet, "/api/v1/accounts", nil, http.StatusOK, &list)
	if len(list.Items) != 2 {
		t.Errorf("admin lists %+v, want admin and bob", list.Items)
	}
	status, b = h.do(http.MethodGet, "/api/v1/accounts/admin", session, nil)
	h.wantError(status, b, http.StatusForbidden, "Forbidden", "")

	var tok apitypes.Token
	status, b = h.do(http.MethodPost, "/api/v1/accounts/bob/tokens", session, map[string]any{"expiresIn": "1h", "id": "ci"})
	if status != http.StatusCreated || !decodeInto(b, &tok) || tok.ID != "ci" || tok.Token == "" || tok.ExpiresAt == nil || tok.ExpiresAt.Sub(tok.IssuedAt) != time.Hour {
		t.Fatalf("bob mints a token: %d %s", status, b)
	}
	h.wantStatus(http.MethodGet, "/api/v1/session", tok.Token, http.StatusOK)
	status, b = h.do(http.MethodPost, "/api/v1/accounts/bob/tokens", session, map[string]any{"id": "ci"})
	h.wantError(status, b, http.StatusConflict, "AlreadyExists", "")
	status, b = h.do(http.MethodPost, "/api/v1/accounts/bob/tokens", session, map[string]any{"expiresIn": "soon"})
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "expiresIn")
	h.must(http.MethodGet, "/api/v1/accounts/bob", nil, http.StatusOK, &bob)
	if len(bob.Tokens) != 1 || bob.Tokens[0].ID != "ci" {
		t.Errorf("bob's tokens: %+v", bob.Tokens)
	}
	status, _ = h.do(http.MethodDelete, "/api/v1/accounts/bob/tokens/ci", session, nil)
	if status != http.StatusNoContent {
		t.Fatalf("bob revokes his token: %d", status)
	}
	h.wantStatus(http.MethodGet, "/api/v1/session", tok.Token, http.StatusUnauthorized)
	status, b = h.do(http.MethodDelete, "/api/v1/accounts/bob/tokens/ci", session, nil)
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")

	// Own password: the current one is needed, and older sessions end.
	status, b = h.do(http.MethodPut, "/api/v1/accounts/bob/password", session, map[string]any{"newPassword": "bob's new password"})
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "currentPassword")
	status, b = h.do(http.MethodPut, "/api/v1/accounts/bob/password", session, map[string]any{"currentPassword": "wrong password", "newPassword": "bob's new password"})
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "currentPassword")
	status, b = h.do(http.MethodPut, "/api/v1/accounts/bob/password", session, map[string]any{"currentPassword": "bob's password", "newPassword": "short"})
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "newPassword")
	status, b = h.do(http.MethodPut, "/api/v1/accounts/bob/password", session, map[string]any{"currentPassword": "bob's password", "newPassword": "bob's new password"})
	if status != http.StatusNoContent {
		t.Fatalf("bob changes his password: %d %s", status, b)
	}
	h.wantStatus(http.MethodGet, "/api/v1/session", session, http.StatusUnauthorized)
	h.login("bob", "bob's new password")
	// An admin sets it without the current one.
	h.must(http.MethodPut, "/api/v1/accounts/bob/password", map[string]any{"newPassword": "set by admin"}, http.StatusNoContent, nil)
	session = h.login("bob", "set by admin")

	// A disabled account's sessions stop working; enabled again, they work.
	h.wantStatus(http.MethodGet, "/api/v1/session", session, http.StatusOK)
	h.must(http.MethodPatch, "/api/v1/accounts/bob", map[string]any{"enabled": false}, http.StatusOK, &bob)
	if bob.Enabled {
		t.Errorf("disabled account: %+v", bob)
	}
	h.wantStatus(http.MethodGet, "/api/v1/session", session, http.StatusUnauthorized)
	h.must(http.MethodPatch, "/api/v1/accounts/bob", map[string]any{"enabled": true}, http.StatusOK, nil)
	h.wantStatus(http.MethodGet, "/api/v1/session", session, http.StatusOK)
	status, b = h.do(http.MethodPatch, "/api/v1/accounts/bob", "admin-token", map[string]any{})
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "enabled")

	status, b = h.do(http.MethodDelete, "/api/v1/accounts/admin", "admin-token", nil)
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "")
	h.must(http.MethodDelete, "/api/v1/accounts/bob", nil, http.StatusNoContent, nil)
	status, b = h.do(http.MethodGet, "/api/v1/accounts/bob", "admin-token", nil)
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")
	h.wantStatus(http.MethodGet, "/api/v1/session", session, http.StatusUnauthorized)
}

// TestTokensNeedTheAPIKeyCapability: an account without apiKey gets no
// token, whoever asks.
func TestTokensNeedTheAPIKeyCapability(t *testing.T) {
	h := newHarness(t)
	h.must(http.MethodPost, "/api/v1/accounts", map[string]any{"name": "carol", "capabilities": []string{"login"}, "password": "carol's password"}, http.StatusCreated, nil)
	session := h.login("carol", "carol's password")
	h.wantStatus(http.MethodGet, "/api/v1/accounts/carol", session, http.StatusOK)
	for _, token := range []string{session, "admin-token"} {
		status, b := h.do(http.MethodPost, "/api/v1/accounts/carol/tokens", token, nil)
		e := h.wantError(status, b, http.StatusBadRequest, "Invalid", "")
		if !strings.Contains(e.Message, "apiKey") {
			t.Errorf("refusal does not name the capability: %s", e.Message)
		}
	}
	var carol apitypes.Account
	h.must(http.MethodGet, "/api/v1/accounts/carol", nil, http.StatusOK, &carol)
	if len(carol.Tokens) != 0 {
		t.Errorf("carol has tokens: %+v", carol.Tokens)
	}
}

func TestProjectRoleTokensAndPatch(t *testing.T) {
	h := newHarness(t)
	proj := &sollv1.Project{ObjectMeta: objectMeta("ops", h.ns), Spec: sollv1.ProjectSpec{
		SourceRepos: []string{"*"}, Destinations: []sollv1.ProjectDestination{{Server: "*", Namespace: "*"}},
		Roles: []sollv1.ProjectRole{{Name: "ci", Policies: []string{"p, proj:ops:ci, applications, get, ops/*, allow"}}},
	}}
	if err := h.env.Client.Create(context.Background(), proj); err != nil {
		t.Fatal(err)
	}
	var tok apitypes.Token
	h.must(http.MethodPost, "/api/v1/projects/ops/roles/ci/tokens", map[string]any{"expiresIn": 3600}, http.StatusCreated, &tok)
	if tok.Token == "" || tok.ID == "" || tok.ExpiresAt == nil || tok.ExpiresAt.Sub(tok.IssuedAt) != time.Hour {
		t.Fatalf("project token: %+v", tok)
	}
	var who apitypes.Session
	h.eventually(10*time.Second, "the project token accepted", func() bool {
		status, b := h.do(http.MethodGet, "/api/v1/session", tok.Token, nil)
		return status == http.StatusOK && decodeInto(b, &who)
	})
	if who.Project != "ops" || who.Role != "ci" || who.TokenID != tok.ID {
		t.Errorf("project token's session: %+v", who)
	}
	var got sollv1.Project
	h.must(http.MethodGet, "/api/v1/projects/ops", nil, http.StatusOK, &got)
	if len(got.Status.JWTTokensByRole) != 1 || len(got.Status.JWTTokensByRole[0].Tokens) != 1 || got.Status.JWTTokensByRole[0].Tokens[0].ID != tok.ID {
		t.Errorf("project status: %+v", got.Status)
	}
	status, b := h.do(http.MethodPost, "/api/v1/projects/ops/roles/nope/tokens", "admin-token", nil)
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")
	status, b = h.do(http.MethodPost, "/api/v1/projects/ghost/roles/ci/tokens", "admin-token", nil)
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")
	h.must(http.MethodDelete, "/api/v1/projects/ops/roles/ci/tokens/"+tok.ID, nil, http.StatusNoContent, nil)
	h.wantStatus(http.MethodGet, "/api/v1/session", tok.Token, http.StatusUnauthorized)
	status, b = h.do(http.MethodDelete, "/api/v1/projects/ops/roles/ci/tokens/"+tok.ID, "admin-token", nil)
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")

	h.must(http.MethodPatch, "/api/v1/projects/ops", map[string]any{"metadata": map[string]any{"labels": map[string]any{"team": "ops"}}, "spec": map[string]any{"description": "Operations"}}, http.StatusOK, &got)
	if got.Labels["team"] != "ops" || got.Spec.Description != "Operations" || len(got.Spec.Roles) != 1 || len(got.Spec.SourceRepos) != 1 {
		t.Errorf("patched project: labels %v spec %+v", got.Labels, got.Spec)
	}
	status, b = h.do(http.MethodPatch, "/api/v1/projects/ops", "admin-token", map[string]any{"status": map[string]any{}})
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "status")
	status, b = h.do(http.MethodPatch, "/api/v1/projects/ops", "admin-token", map[string]any{"metadata": map[string]any{"resourceVersion": "1"}, "spec": map[string]any{"description": "stale"}})
	h.wantError(status, b, http.StatusConflict, "Conflict", "")
}

// TestAccountCapabilities: PATCH replaces an account's capabilities with
// the update right; what a capability allowed is refused once it is
// taken away, and the audit log says what changed.
func TestAccountCapabilities(t *testing.T) {
	h := newHarness(t)
	h.must(http.MethodPost, "/api/v1/accounts", map[string]any{"name": "erin", "capabilities": []string{"login"}, "password": "erin's password"}, http.StatusCreated, nil)
	session := h.login("erin", "erin's password")
	h.wantStatus(http.MethodGet, "/api/v1/accounts/erin", session, http.StatusOK)
	// Her own account, but changing capabilities needs the update right.
	status, b := h.do(http.MethodPatch, "/api/v1/accounts/erin", session, map[string]any{"capabilities": []string{"login", "apiKey"}})
	h.wantError(status, b, http.StatusForbidden, "Forbidden", "")

	var erin apitypes.Account
	h.must(http.MethodPatch, "/api/v1/accounts/erin", map[string]any{"capabilities": []string{"login", "apiKey", "login"}}, http.StatusOK, &erin)
	if !slices.Equal(erin.Capabilities, []string{"apiKey", "login"}) || !erin.Enabled {
		t.Fatalf("patched account: %+v", erin)
	}
	var tok apitypes.Token
	h.must(http.MethodPost, "/api/v1/accounts/erin/tokens", map[string]any{"id": "ci"}, http.StatusCreated, &tok)
	h.wantStatus(http.MethodGet, "/api/v1/session", tok.Token, http.StatusOK)

	for _, tt := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown capability", map[string]any{"capabilities": []string{"apiKey", "root"}}, "capabilities[1]"},
		{"nothing to change", map[string]any{}, "enabled"},
		{"not a list", map[string]any{"capabilities": "login"}, "capabilities"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := h.in(t)
			status, b := h.do(http.MethodPatch, "/api/v1/accounts/erin", "admin-token", tt.body)
			h.wantError(status, b, http.StatusBadRequest, "Invalid", tt.field)
		})
	}
	h.must(http.MethodGet, "/api/v1/accounts/erin", nil, http.StatusOK, &erin)
	if !slices.Equal(erin.Capabilities, []string{"apiKey", "login"}) {
		t.Errorf("a refused patch changed the capabilities: %+v", erin.Capabilities)
	}

	// Without login her session ends; without apiKey her token.
	h.must(http.MethodPatch, "/api/v1/accounts/erin", map[string]any{"capabilities": []string{"apiKey"}}, http.StatusOK, &erin)
	h.wantStatus(http.MethodGet, "/api/v1/session", session, http.StatusUnauthorized)
	h.wantStatus(http.MethodGet, "/api/v1/session", tok.Token, http.StatusOK)
	h.must(http.MethodPatch, "/api/v1/accounts/erin", map[string]any{"capabilities": []string{}, "enabled": true}, http.StatusOK, &erin)
	if len(erin.Capabilities) != 0 || !erin.Enabled {
		t.Errorf("account without capabilities: %+v", erin)
	}
	h.wantStatus(http.MethodGet, "/api/v1/session", tok.Token, http.StatusUnauthorized)

	var got []string
	for _, m := range messages(h.auditPage("admin-token", "")) {
		if strings.Contains(m, "update account erin") || strings.Contains(m, "updated account erin") {
			got = append(got, m)
		}
	}
	want := []string{
		"admin updated account erin (enabled: true, capabilities: none): done",
		"admin updated account erin (capabilities: apiKey): done",
		"admin tried to update account erin: refused (Invalid)",
		"admin tried to update account erin: refused (Invalid)",
		"admin tried to update account erin (capabilities: apiKey,root): refused (Invalid)",
		"admin updated account erin (capabilities: apiKey,login): done",
		"erin tried to update account erin: refused (Forbidden)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit log of the patches:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestWrongCurrentPasswordsThrottle: guessing the current password
// through a password change is throttled as guessing it at the login is,
// with the same counters: 429 with Retry-After, even for the right
// password, until the backoff has passed. The accounts run on a clock of
// the test's, so that a slow run cannot outlast the backoff.
func TestWrongCurrentPasswordsThrottle(t *testing.T) {
	clk := &testClock{now: time.Now()}
	var am *auth.Manager
	h := newHarness(t, func(o *Options) {
		var err error
		am, err = auth.New(context.Background(), auth.Options{Client: o.Client, APIReader: o.APIReader, Namespace: o.Namespace, Now: clk.Now, Logger: o.Log})
		if err != nil {
			t.Fatal(err)
		}
		o.Accounts = am
	})
	h.must(http.MethodPost, "/api/v1/accounts", map[string]any{"name": "frank", "capabilities": []string{"login"}, "password": "frank's password"}, http.StatusCreated, nil)
	session := h.login("frank", "frank's password")
	h.wantStatus(http.MethodGet, "/api/v1/accounts/frank", session, http.StatusOK)
	change := func(current string) (int, []byte, http.Header) {
		t.Helper()
		body := strings.NewReader(`{"currentPassword": "` + current + `", "newPassword": "frank's new password"}`)
		req, err := http.NewRequest(http.MethodPut, h.url+"/api/v1/accounts/frank/password", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+session)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	for i := range 5 {
		status, b, _ := change(fmt.Sprintf("wrong guess %d", i))
		h.wantError(status, b, http.StatusBadRequest, "Invalid", "currentPassword")
	}
	status, b, header := change("frank's password")
	e := h.wantError(status, b, http.StatusTooManyRequests, "Throttled", "")
	if !strings.Contains(e.Message, "too many wrong passwords for account frank: retry in 2s") || strings.Contains(e.Message, "frank's password") {
		t.Errorf("throttled answer: %q", e.Message)
	}
	if got := header.Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After %q, want 3 (the 2s backoff, rounded up)", got)
	}
	if _, err := am.Login(context.Background(), "frank", "frank's password", "192.0.2.7"); !errors.Is(err, auth.ErrThrottled) {
		t.Errorf("login while the password change is throttled: %v", err)
	}
	clk.Add(2 * time.Second)
	if status, b, _ := change("frank's password"); status != http.StatusNoContent {
		t.Fatalf("change after the backoff: %d %s", status, b)
	}
	if _, err := am.Login(context.Background(), "frank", "frank's new password", "192.0.2.7"); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	var throttled int
	for _, entry := range h.auditPage("admin-token", "").Items {
		if entry.Action == "SetPassword" && entry.Status == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled != 1 {
		t.Errorf("the audit log has %d throttled password changes, want 1", throttled)
	}
}

// testClock is a clock that moves when the test says.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
