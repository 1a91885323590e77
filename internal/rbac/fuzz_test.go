package rbac

import (
	"testing"
)

// FuzzSubjects checks subject typing on arbitrary names: an SSO user and
// group of any name gain nothing that the policy grants to local
// accounts, roles or project roles, whatever the name looks like; and a
// subject ParseSubject accepts reads back as the same subject in a
// policy.
func FuzzSubjects(f *testing.F) {
	for _, s := range []string{"admin", "user:admin", "role:admin", "group:admin", "proj:team-a:deployer",
		"team-a-devs", "ops", ":", "user:", "role:admin,user:admin", " admin", "sso:carol@example.org"} {
		f.Add(s, s)
	}
	e, err := Parse(Policy{CSV: confusionPolicy}, teamAProject())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, group, user string) {
		subjects := []Subject{SSOUser(user), Group(group)}
		// Lines for a local account, a role (through g, user:alice) and
		// a project role: no SSO name may reach them.
		for _, c := range []struct{ resource, action, object string }{
			{"applications", "sync", "team-a/web"},
			{"projects", "update", "team-b"},
			{"accounts", "update", "bob"},
		} {
			if c.resource == "accounts" && user == "carol@example.org" {
				continue // the SSO user carol has this line
			}
			if c.resource == "applications" && group == "team-a-devs" {
				continue // the project role's group
			}
			if e.Allowed(subjects, c.resource, c.action, c.object) {
				t.Errorf("SSO user %q in group %q may %s %s %s", user, group, c.action, c.resource, c.object)
			}
		}
		if s, err := ParseSubject(group); err == nil {
			if back, problem := policySubject(s.String()); problem != "" || back != s {
				t.Errorf("ParseSubject(%q) = %q, which a policy reads as %q (%s)", group, s, back, problem)
			}
			if !s.requester() {
				t.Errorf("ParseSubject(%q) = %q, which cannot make requests", group, s)
			}
		}
	})
}
