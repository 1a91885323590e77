package server

import (
	"net/http"
	"testing"

	"soll.dev/internal/apitypes"
	"soll.dev/internal/rbac"
)

// TestOwnAccountIsTheAccountOnly: what a local account may do on itself
// (read itself, issue its tokens) is not done for an SSO user or a project
// token that carries its name.
func TestOwnAccountIsTheAccountOnly(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Auth = moreTokens{tokenAuth{
			"sso-dora":  {Subject: "dora", Subjects: []rbac.Subject{rbac.SSOUser("dora"), rbac.Group("dora")}},
			"proj-dora": {Subject: "dora", Project: "team-a", Role: "dora", Subjects: []rbac.Subject{rbac.ProjectRole("team-a", "dora")}},
		}, o.Auth}
	})
	h.must(http.MethodPost, "/api/v1/accounts", map[string]any{"name": "dora", "capabilities": []string{"login", "apiKey"}, "password": "dora's password"}, http.StatusCreated, nil)
	session := h.login("dora", "dora's password")
	h.wantStatus(http.MethodGet, "/api/v1/accounts/dora", session, http.StatusOK)
	for _, token := range []string{"sso-dora", "proj-dora"} {
		for _, req := range []struct{ method, path string }{
			{http.MethodGet, "/api/v1/accounts/dora"},
			{http.MethodPost, "/api/v1/accounts/dora/tokens"},
		} {
			status, b := h.do(req.method, req.path, token, nil)
			h.wantError(status, b, http.StatusForbidden, "Forbidden", "")
		}
		if status, b := h.do(http.MethodGet, "/api/v1/accounts", token, nil); status != http.StatusOK || string(b) != "{\"items\":[]}\n" {
			t.Errorf("%s lists accounts: %d %s", token, status, b)
		}
	}
	var dora apitypes.Account
	h.must(http.MethodGet, "/api/v1/accounts/dora", nil, http.StatusOK, &dora)
	if len(dora.Tokens) != 0 {
		t.Errorf("dora has tokens: %+v", dora.Tokens)
	}
}
