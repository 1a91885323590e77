package server

import (
	"net/http"
	"strings"
	"testing"
)

// moreTokens authenticates its own tokens, then as next does.
type moreTokens struct {
	tokens tokenAuth
	next   Authenticator
}

func (a moreTokens) Authenticate(r *http.Request) (*Principal, error) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if p := a.tokens[tok]; p != nil {
		return p, nil
	}
	return a.next.Authenticate(r)
}

// appEndpoints are the requests on one application, with a body where the
// endpoint needs one; %s is the application's name.
var appEndpoints = []struct {
	method, path string
	body         func(name string) any
}{
	{http.MethodGet, "/api/v1/applications/%s", nil},
	{http.MethodPut, "/api/v1/applications/%s", func(name string) any { return appBody(name, "team-b", "b", nil) }},
	{http.MethodPatch, "/api/v1/applications/%s", func(string) any {
		return map[string]any{"metadata": map[string]any{"labels": map[string]any{"x": "1"}}}
	}},
	{http.MethodDelete, "/api/v1/applications/%s", nil},
	{http.MethodPost, "/api/v1/applications/%s/sync", nil},
	{http.MethodPost, "/api/v1/applications/%s/rollback", func(string) any { return map[string]any{"id": 1} }},
	{http.MethodPost, "/api/v1/applications/%s/terminate", nil},
	{http.MethodPost, "/api/v1/applications/%s/refresh", nil},
	{http.MethodPost, "/api/v1/applications/%s/unpin", nil},
	{http.MethodGet, "/api/v1/applications/%s/diff", nil},
	{http.MethodGet, "/api/v1/applications/%s/resources", nil},
	{http.MethodGet, "/api/v1/applications/%s/tree", nil},
	{http.MethodGet, "/api/v1/applications/%s/live?kind=ConfigMap&name=settings", nil},
	{http.MethodGet, "/api/v1/applications/%s/events", nil},
	{http.MethodGet, "/api/v1/applications/%s/history", nil},
	{http.MethodGet, "/api/v1/applications/%s/manifests", nil},
	{http.MethodGet, "/api/v1/stream/applications/%s", nil},
}

// TestUnreadableAppIsNotFound: a user of team-b asks every endpoint of an
// application about team-a's app and about an app that does not exist,
// and gets the same answer, status and body but for the name asked for,
// which names neither the app's project nor that the app exists. A user
// of team-a who may read the app but not delete it is still told so.
func TestUnreadableAppIsNotFound(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Auth = moreTokens{tokenAuth{"bob-token": {Subject: "bob", Groups: []string{"team-b"}}}, o.Auth}
		o.RBAC = append(ruleTable{
			{"bob", resApplications, "*", "team-b/*"},
		}, testRules...)
	})
	h.createApp("a-secret", "team-a", "a", nil)
	const missing = "a-missing"
	for _, ep := range appEndpoints {
		t.Run(ep.method+" "+ep.path, func(t *testing.T) {
			h := h.in(t)
			ask := func(name string) (int, string) {
				var body any
				if ep.body != nil {
					body = ep.body(name)
				}
				status, b := h.do(ep.method, strings.ReplaceAll(ep.path, "%s", name), "bob-token", body)
				return status, string(b)
			}
			status, body := ask("a-secret")
			mStatus, mBody := ask(missing)
			if status != mStatus || strings.ReplaceAll(body, "a-secret", missing) != mBody {
				t.Errorf("team-a's app: %d %s\na missing app: %d %s", status, body, mStatus, mBody)
			}
			h.wantError(status, []byte(body), http.StatusNotFound, "NotFound", "")
			if strings.Contains(body, "team-a") {
				t.Errorf("the answer names the project: %s", body)
			}
		})
	}

	// alice may read team-a's apps and sync them, nothing else: the
	// actions she may not do are forbidden, not hidden.
	for _, ep := range []struct{ method, path, action string }{
		{http.MethodDelete, "/api/v1/applications/a-secret", "delete"},
		{http.MethodPatch, "/api/v1/applications/a-secret", "update"},
		{http.MethodPost, "/api/v1/applications/a-secret/rollback", "rollback"},
	} {
		var body any
		switch ep.action {
		case "update":
			body = map[string]any{"metadata": map[string]any{"labels": map[string]any{"x": "1"}}}
		case "rollback":
			body = map[string]any{"id": 1}
		}
		status, b := h.do(ep.method, ep.path, "alice-token", body)
		e := h.wantError(status, b, http.StatusForbidden, "Forbidden", "")
		if !strings.Contains(e.Message, ep.action+" applications team-a/a-secret") {
			t.Errorf("%s %s: message %q", ep.method, ep.path, e.Message)
		}
	}
	h.wantStatus(http.MethodGet, "/api/v1/applications/a-secret", "alice-token", http.StatusOK)
}
