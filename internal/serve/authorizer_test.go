package serve

import (
	"testing"

	"soll.dev/internal/auth"
	"soll.dev/internal/rbac"
)

// TestSSONamesNeverPassForAccountsOrRoles decides requests of SSO users
// and groups named like the local account admin and the built-in roles,
// as the API's authorizer sees them, against the built-in policy, in
// which the local account admin has role:admin: none may do anything,
// while the local account admin may do everything.
func TestSSONamesNeverPassForAccountsOrRoles(t *testing.T) {
	a := authorizer{rbac.NewStore(nil, "soll")}
	names := []string{
		"admin", "user:admin", "role:admin", "group:admin", "sso:admin",
		"readonly", "role:readonly", "proj:team-a:ci", ":", "admin:", "role:",
	}
	type request struct{ resource, action, object string }
	requests := []request{
		{"accounts", "update", "admin"},
		{"accounts", "create", "eve"},
		{"projects", "update", "team-a"},
		{"applications", "sync", "team-a/web"},
		{"applications", "get", "team-a/web"},
		{"clusters", "create", "https://kube.example:6443"},
		{"repositories", "get", "https://git.example/org/config.git"},
	}
	for _, name := range names {
		for _, p := range []*auth.Principal{
			{Kind: auth.KindSSO, Subject: "mallory@example.org", Groups: []string{name}},
			{Kind: auth.KindSSO, Subject: name},
		} {
			for _, r := range requests {
				if a.Allowed(apiPrincipal(p), r.resource, r.action, r.object) {
					t.Errorf("the SSO user %q in groups %q may %s %s %s", p.Subject, p.Groups, r.action, r.resource, r.object)
				}
			}
		}
	}
	admin := apiPrincipal(&auth.Principal{Kind: auth.KindSession, Subject: auth.AdminAccount})
	for _, r := range requests {
		if !a.Allowed(admin, r.resource, r.action, r.object) {
			t.Errorf("the local account admin may not %s %s %s", r.action, r.resource, r.object)
		}
	}
}
