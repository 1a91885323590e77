package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestDotSegmentsInRepoURLsRefused: the API refuses an Application whose
// repository URL has a dot segment, plain or percent-encoded, naming the
// field, even though the Project allows every repository.
func TestDotSegmentsInRepoURLsRefused(t *testing.T) {
	h := newHarness(t)
	for i, url := range []string{
		"https://git.example.com/team-a/../team-b/cfg",
		"https://git.example.com/team-a/%2e%2e/team-b/cfg",
		`https://git.example.com/team-a\..\team-b`,
	} {
		body := appBody("dots", "default", "ns", nil)
		body["spec"].(map[string]any)["source"].(map[string]any)["repoURL"] = url
		status, b := h.do(http.MethodPost, "/api/v1/applications/dots", "admin-token", body)
		e := h.wantError(status, b, http.StatusBadRequest, "Invalid", "spec.source.repoURL")
		if !strings.Contains(e.Message, "segment") && !strings.Contains(e.Message, "backslash") {
			t.Errorf("URL %d: message %q does not say why", i, e.Message)
		}
	}
}
