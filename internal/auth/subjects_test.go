package auth

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"soll.dev/internal/rbac"
)

// confusingNames are SSO groups, and one SSO user, named like the local
// account admin, the built-in roles and a project role, in every form a
// policy may write them.
var confusingNames = []string{
	"admin", "user:admin", "role:admin", "group:admin", "sso:admin",
	"readonly", "role:readonly", "proj:team-a:ci", "team-a:ci", ":", "admin:", "role:",
}

// TestSSOLoginNamedLikeAdminGainsNothing logs in through the provider as
// a user whose email claim is "admin" and whose groups are named like the
// local account admin and the built-in roles: with the built-in policy
// (g, user:admin, role:admin), the session may do nothing at all, while a
// password session of the local account admin may do everything.
func TestSSOLoginNamedLikeAdminGainsNothing(t *testing.T) {
	e := newSSOEnv(t, nil)
	e.provider.SetRewrite(func(c map[string]any) {
		c["email"], c["email_verified"] = "admin", true
		c["groups"] = confusingNames
	})
	c := browser(t)
	if resp := e.login(t, c, "/", nil); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: status %d", resp.StatusCode)
	}
	sso := mustAuthenticate(t, e.m, e.sessionCookie(c))
	if sso.Kind != KindSSO || sso.Subject != "admin" || !slices.Equal(sso.Groups, confusingNames) {
		t.Fatalf("principal = %+v, want an SSO user admin in the groups %q", sso, confusingNames)
	}

	ctx := context.Background()
	tok, err := e.m.Login(ctx, AdminAccount, initialPassword(t, e.m.c), "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	local := mustAuthenticate(t, e.m, tok)

	policy, err := rbac.Parse(rbac.Policy{CSV: "p, role:deployer, applications, sync, team-a/*, allow\np, proj:team-a:ci, applications, sync, team-a/*, allow"})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range rbac.Resources {
		for _, act := range rbac.Actions {
			obj := "team-a"
			if res == "applications" || res == "logs" {
				obj = "team-a/web"
			}
			if policy.Allowed(sso.Subjects(), res, act, obj) {
				t.Errorf("the SSO user %q in groups %q may %s %s %s", sso.Subject, sso.Groups, act, res, obj)
			}
			if !policy.Allowed(local.Subjects(), res, act, obj) {
				t.Errorf("the local account admin may not %s %s %s", act, res, obj)
			}
		}
	}
}

// TestPrincipalSubjects: each kind of principal has subjects of its own
// kind only, whatever its names.
func TestPrincipalSubjects(t *testing.T) {
	for _, tt := range []struct {
		p    Principal
		want []rbac.Subject
	}{
		{Principal{Kind: KindSession, Subject: "admin"}, []rbac.Subject{rbac.Account("admin")}},
		{Principal{Kind: KindAPIKey, Subject: "ci"}, []rbac.Subject{rbac.Account("ci")}},
		{Principal{Kind: KindSSO, Subject: "admin", Groups: []string{"admin", "role:admin"}},
			[]rbac.Subject{rbac.SSOUser("admin"), rbac.Group("admin"), rbac.Group("role:admin")}},
		{Principal{Kind: KindProject, Subject: "proj:team-a:ci", Project: "team-a", Role: "ci"}, []rbac.Subject{rbac.ProjectRole("team-a", "ci")}},
		{Principal{Kind: "unknown", Subject: "admin"}, nil},
	} {
		if got := tt.p.Subjects(); !slices.Equal(got, tt.want) {
			t.Errorf("Subjects of %+v = %q, want %q", tt.p, got, tt.want)
		}
	}
}
