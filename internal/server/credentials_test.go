package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/repocreds"
)

// TestRepositoryProjects saves credentials for one Project, or shared with
// all: the Secret records it, the list shows it, and each Project has its
// own credentials for the same URL.
func TestRepositoryProjects(t *testing.T) {
	// The harness has the Projects team-a and team-b.
	h := newHarness(t)
	const repo = "https://git.example.com/apps.git"
	var a, b, shared apitypes.Repository
	h.must(http.MethodPost, "/api/v1/repositories", map[string]any{"url": repo, "project": "team-a", "bearerToken": "token-a"}, http.StatusCreated, &a)
	h.must(http.MethodPost, "/api/v1/repositories", map[string]any{"url": repo, "project": "team-b", "bearerToken": "token-b"}, http.StatusCreated, &b)
	h.must(http.MethodPost, "/api/v1/repositories", map[string]any{"url": repo, "shared": true, "bearerToken": "token-all"}, http.StatusCreated, &shared)
	if a.Project != "team-a" || b.Project != "team-b" || a.Name == b.Name || shared.Project != "" || !shared.Shared || a.Shared {
		t.Errorf("saved: %+v, %+v, %+v", a, b, shared)
	}
	sec, err := h.env.Kube.CoreV1().Secrets(h.ns).Get(context.Background(), a.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data[repocreds.ProjectKey]) != "team-a" || sec.Labels[sollv1.SharedLabel] != "" {
		t.Errorf("Secret of team-a: project %q, labels %v", sec.Data[repocreds.ProjectKey], sec.Labels)
	}
	sec, err = h.env.Kube.CoreV1().Secrets(h.ns).Get(context.Background(), shared.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sec.Data[repocreds.ProjectKey]; ok || sec.Labels[sollv1.SharedLabel] != "true" {
		t.Errorf("shared Secret: data keys %d, labels %v", len(sec.Data), sec.Labels)
	}
	// A second Secret for team-a's repository is refused, as before.
	status, body := h.do(http.MethodPost, "/api/v1/repositories", "admin-token", map[string]any{"url": repo, "project": "team-a", "bearerToken": "token-a2"})
	h.wantError(status, body, http.StatusConflict, "AlreadyExists", "name")
	// Replacing the shared credentials by unshared ones drops the label.
	h.must(http.MethodPost, "/api/v1/repositories?upsert=true", map[string]any{"url": repo, "bearerToken": "token-default"}, http.StatusOK, &shared)
	if shared.Shared {
		t.Errorf("replaced without shared: %+v", shared)
	}

	status, body = h.do(http.MethodPost, "/api/v1/repositories", "admin-token", map[string]any{"url": repo, "project": "team-c", "bearerToken": "t"})
	h.wantError(status, body, http.StatusBadRequest, "Invalid", "project")
	status, body = h.do(http.MethodPost, "/api/v1/repositories", "admin-token", map[string]any{"url": repo, "project": "Team A", "bearerToken": "t"})
	h.wantError(status, body, http.StatusBadRequest, "Invalid", "project")
	status, body = h.do(http.MethodPost, "/api/v1/repositories", "admin-token", map[string]any{"url": repo, "project": "team-a", "shared": true, "bearerToken": "t"})
	h.wantError(status, body, http.StatusBadRequest, "Invalid", "shared")

	// A saved Secret is tested with its own URL only, never sent elsewhere.
	status, body = h.do(http.MethodPost, "/api/v1/repositories/"+a.Name+"/test", "admin-token", map[string]any{"url": "https://attacker.example.net/x.git"})
	h.wantError(status, body, http.StatusBadRequest, "Invalid", "url")

	var list struct{ Items []apitypes.Repository }
	h.must(http.MethodGet, "/api/v1/repositories", nil, http.StatusOK, &list)
	projects := map[string]bool{}
	for _, r := range list.Items {
		projects[r.Project] = true
	}
	if len(list.Items) != 3 || !projects["team-a"] || !projects["team-b"] || !projects[""] {
		t.Errorf("repositories: %+v", list.Items)
	}
}

// TestCredentialsRefOnWrite: an Application is refused, with the field
// named, when its credentialsRef names a Secret the controller would not
// use for it: not a repository Secret, another Project's, or one saved for
// another repository. The answer never shows the Secret's values.
func TestCredentialsRefOnWrite(t *testing.T) {
	const repo = "https://git.example.com/apps.git" // appBody's
	// The harness has the Projects team-a and team-b.
	h := newHarness(t)
	// soll's own Secret, which the harness's accounts created.
	admin, err := h.env.Kube.CoreV1().Secrets(h.ns).Get(context.Background(), "soll-initial-admin-secret", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	adminPassword := string(admin.Data["password"])
	if adminPassword == "" {
		t.Fatalf("soll-initial-admin-secret has no password: keys %d", len(admin.Data))
	}
	save := func(name, typ, url, project string) {
		h.must(http.MethodPost, "/api/v1/repositories", map[string]any{"name": name, "type": typ, "url": url, "project": project, "username": "ci", "password": "pw-" + name}, http.StatusCreated, nil)
	}
	save("team-a-apps", "", repo, "team-a")
	save("team-a-other", "", "https://git.example.com/other.git", "team-a")
	save("team-a-elsewhere", "repo-creds", "https://elsewhere.example.com", "team-a")
	save("team-a-all", "repo-creds", "https://git.example.com", "team-a")
	save("team-b-apps", "", repo, "team-b")
	save("default-apps", "", repo, "")

	withRef := func(name, project, ref string) map[string]any {
		b := appBody(name, project, "ns", nil)
		b["spec"].(map[string]any)["source"].(map[string]any)["credentialsRef"] = map[string]any{"name": ref}
		return b
	}
	refused := []struct {
		name, project, ref, want string
	}{
		{"admin-secret", "team-a", "soll-initial-admin-secret", "there is no repository Secret soll-initial-admin-secret"},
		{"admin-secret-default", "default", "soll-initial-admin-secret", "there is no repository Secret soll-initial-admin-secret"},
		{"missing", "team-a", "no-such-secret", "there is no repository Secret no-such-secret"},
		{"other-project", "team-a", "team-b-apps", "does not serve project team-a"},
		{"unscoped", "team-a", "default-apps", "does not serve project team-a"},
		{"other-url", "team-a", "team-a-other", "another repository"},
		{"other-prefix", "team-a", "team-a-elsewhere", "credential template for other repositories"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			h := h.in(t)
			status, b := h.do(http.MethodPost, "/api/v1/applications/"+tt.name, "admin-token", withRef(tt.name, tt.project, tt.ref))
			e := h.wantError(status, b, http.StatusBadRequest, "Invalid", "spec.source.credentialsRef")
			if !strings.Contains(e.Message, tt.want) {
				t.Errorf("message %q does not say %q", e.Message, tt.want)
			}
			if strings.Contains(string(b), adminPassword) || strings.Contains(string(b), "pw-") {
				t.Errorf("the answer shows a password: %s", b)
			}
		})
	}

	for name, ref := range map[string]string{"own": "team-a-apps", "template": "team-a-all"} {
		h.must(http.MethodPost, "/api/v1/applications/"+name, withRef(name, "team-a", ref), http.StatusCreated, nil)
	}
	h.must(http.MethodPost, "/api/v1/applications/legacy", withRef("legacy", "default", "default-apps"), http.StatusCreated, nil)

	// Changing an app to use another Project's credentials is refused
	// too, by patch and by update; so is moving it to another Project
	// with its credentials.
	status, b := h.do(http.MethodPatch, "/api/v1/applications/own", "admin-token",
		map[string]any{"spec": map[string]any{"source": map[string]any{"credentialsRef": map[string]any{"name": "team-b-apps"}}}})
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "spec.source.credentialsRef")
	status, b = h.do(http.MethodPatch, "/api/v1/applications/own", "admin-token", map[string]any{"spec": map[string]any{"project": "team-b"}})
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "spec.source.credentialsRef")
	status, b = h.do(http.MethodPut, "/api/v1/applications/own", "admin-token", withRef("own", "team-a", "soll-initial-admin-secret"))
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "spec.source.credentialsRef")
	var got sollv1.Application
	h.must(http.MethodGet, "/api/v1/applications/own", nil, http.StatusOK, &got)
	if got.Spec.Project != "team-a" || got.Spec.Source.CredentialsRef.Name != "team-a-apps" {
		t.Errorf("refused writes changed the app: project %s, credentialsRef %+v", got.Spec.Project, got.Spec.Source.CredentialsRef)
	}

	// Several sources: the field names the source.
	multi := appBody("multi", "team-a", "ns", nil)
	spec := multi["spec"].(map[string]any)
	delete(spec, "source")
	spec["sources"] = []any{
		map[string]any{"repoURL": repo, "path": "a", "credentialsRef": map[string]any{"name": "team-a-apps"}},
		map[string]any{"repoURL": "https://attacker.example.net/x.git", "path": "b", "credentialsRef": map[string]any{"name": "team-a-apps"}},
	}
	status, b = h.do(http.MethodPost, "/api/v1/applications/multi", "admin-token", multi)
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "spec.sources[1].credentialsRef")
}
