package rbac

import (
	"strings"
	"testing"
)

// confusionPolicy grants something to a subject of every kind: a local
// account, a role, an SSO user, an SSO group and a project role.
const confusionPolicy = `
p, role:deployer, applications, sync, team-a/*, allow
g, user:alice, role:deployer
p, user:bob, projects, update, *, allow
p, sso:carol@example.org, accounts, update, *, allow
p, ops, clusters, get, *, allow
g, proj:team-a:deployer, role:readonly
`

// TestNameOfAnotherKindGainsNothing logs in SSO users, and SSO users in
// groups, named like every local account, role and project role of the
// policy (the built-in ones too), like the typed form of each, and with
// the kind separator in odd places: none may do anything, since no
// line grants to them.
func TestNameOfAnotherKindGainsNothing(t *testing.T) {
	e, err := Parse(Policy{CSV: confusionPolicy}, teamAProject())
	if err != nil {
		t.Fatal(err)
	}
	names := []string{
		"admin", "user:admin", "role:admin", "group:admin", "sso:admin",
		"readonly", "role:readonly", "deployer", "role:deployer",
		"alice", "user:alice", "bob", "user:bob",
		"carol@example.org", "sso:carol@example.org", "group:ops", "group:group:ops",
		"team-a-devs:", "proj:team-a:deployer", "team-a:deployer", "proj:team-a",
		":", "::", "admin:", ":admin", "user:", "role:", "group:", "sso:", "proj:", "proj::", "proj:team-a:",
		"user:admin:role:admin", "role:admin,user:admin", " admin",
	}
	for _, name := range names {
		requests := [][]Subject{{SSOUser("mallory@example.org"), Group(name)}}
		if name != "carol@example.org" { // the SSO user carol has her line
			requests = append(requests, []Subject{SSOUser(name)}, []Subject{SSOUser(name), Group(name)})
		}
		for _, subjects := range requests {
			for _, res := range Resources {
				for _, act := range Actions {
					for _, obj := range objects[res] {
						if e.Allowed(subjects, res, act, obj) {
							t.Errorf("%q may %s %s %s", subjects, act, res, obj)
						}
						if casbinAllowed(t, e, subjects, res, act, obj) {
							t.Errorf("Casbin's Enforce lets %q %s %s %s", subjects, act, res, obj)
						}
					}
				}
			}
		}
	}
	// The subjects the lines are written for do have their rights, so
	// that the table above tests names, not a policy that grants nothing.
	for _, c := range []struct {
		subjects                 []Subject
		resource, action, object string
	}{
		{[]Subject{Account("admin")}, "accounts", "update", "bob"},
		{[]Subject{Account("alice")}, "applications", "sync", "team-a/web"},
		{[]Subject{Account("bob")}, "projects", "update", "team-b"},
		{[]Subject{SSOUser("carol@example.org")}, "accounts", "update", "alice"},
		{[]Subject{SSOUser("dan@example.org"), Group("ops")}, "clusters", "get", "https://kube-a.example:6443"},
		{[]Subject{SSOUser("gina@example.org"), Group("team-a-devs")}, "applications", "sync", "team-a/web"},
		{[]Subject{ProjectRole("team-a", "deployer")}, "projects", "get", "team-b"},
	} {
		if !e.Allowed(c.subjects, c.resource, c.action, c.object) {
			t.Errorf("%q may not %s %s %s", c.subjects, c.action, c.resource, c.object)
		}
	}
}

// TestGroupWrittenWithItsKind: a group whose name looks like another kind
// of subject gets what lines written for "group:<name>" grant, and no
// more.
func TestGroupWrittenWithItsKind(t *testing.T) {
	e, err := Parse(Policy{CSV: `p, "group:role:admin", projects, get, team-a, allow
g, group:user:admin, role:readonly`})
	if err != nil {
		t.Fatal(err)
	}
	roleAdmin := []Subject{SSOUser("mallory"), Group("role:admin")}
	if !e.Allowed(roleAdmin, "projects", "get", "team-a") {
		t.Error("the group role:admin may not get project team-a")
	}
	if e.Allowed(roleAdmin, "projects", "delete", "team-a") || e.Allowed(roleAdmin, "projects", "get", "team-b") {
		t.Error("the group role:admin has more than its line grants")
	}
	userAdmin := []Subject{SSOUser("mallory"), Group("user:admin")}
	if !e.Allowed(userAdmin, "projects", "get", "team-b") || e.Allowed(userAdmin, "projects", "update", "team-b") {
		t.Error("the group user:admin is not exactly a reader")
	}
}

// TestRequestSubjectsNeedAKind: a request with a subject not made by
// Account, SSOUser, Group or ProjectRole, such as a bare name or a role,
// is refused outright.
func TestRequestSubjectsNeedAKind(t *testing.T) {
	e, err := Parse(Policy{CSV: "p, ops, projects, get, *, allow"})
	if err != nil {
		t.Fatal(err)
	}
	for _, subjects := range [][]Subject{
		{"admin"}, {RoleAdmin}, {Account("")}, {"proj:team-a"},
		{Group("ops"), "admin"}, {Group("ops"), RoleAdmin},
	} {
		if e.Allowed(subjects, "projects", "get", "team-a") {
			t.Errorf("%q may get a project", subjects)
		}
	}
	if !e.Allowed([]Subject{Group("ops")}, "projects", "get", "team-a") {
		t.Error("the group ops alone may not get a project")
	}
}

func TestParseSubject(t *testing.T) {
	for text, want := range map[string]Subject{
		"user:alice":            Account("alice"),
		"sso:alice@example.com": SSOUser("alice@example.com"),
		"group:ops":             Group("ops"),
		"group:role:admin":      Group("role:admin"),
		" proj:team-a:ci ":      ProjectRole("team-a", "ci"),
	} {
		if got, err := ParseSubject(text); err != nil || got != want {
			t.Errorf("ParseSubject(%q) = %q, %v; want %q", text, got, err, want)
		}
	}
	for text, msg := range map[string]string{
		"":            "the subject is empty",
		"alice":       `subject "alice" has no kind: write user:alice for a local account`,
		"role:admin":  `subject "role:admin" is a role`,
		"user:":       `"user:" names no local account`,
		"proj:team-a": `"proj:team-a" is not a project role`,
	} {
		if _, err := ParseSubject(text); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseSubject(%q) = %v, want an error containing %q", text, err, msg)
		}
	}
}

func TestParseSubjectErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		want   []lineWant
	}{
		{"g line to a bare name", Policy{CSV: "g, alice, deployer"},
			[]lineWant{{1, `"deployer" is an SSO group (a name without a kind is a group): write role:deployer if a role is meant`}}},
		{"g line to a local account", Policy{CSV: "g, ops, user:admin"},
			[]lineWant{{1, `"user:admin" is a local account`}}},
		{"g line to a group", Policy{CSV: "g, ops, group:admins"},
			[]lineWant{{1, `"group:admins" is an SSO group`}}},
		{"empty names", Policy{CSV: "p, user:, projects, get, *, allow\ng, group:, role:x\ng, ops, role:\np, sso:, projects, get, *, allow"},
			[]lineWant{{1, `"user:" names no local account`}, {2, `"group:" names no SSO group`}, {3, `"role:" names no role`}, {4, `"sso:" names no SSO user`}}},
		{"project role without role", Policy{CSV: "p, proj:team-a, applications, get, team-a/*, allow"},
			[]lineWant{{1, `"proj:team-a" is not a project role: write proj:<project>:<role>`}}},
		{"default role without kind", Policy{CSV: "p, readonly, projects, get, *, allow", Default: "readonly"},
			[]lineWant{{0, `policy.default: "readonly" is not a role`}}},
		{"default role a group", Policy{CSV: "p, group:ops, projects, get, *, allow", Default: "group:ops"},
			[]lineWant{{0, `policy.default: "group:ops" is not a role`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(tt.policy)
			if err == nil || e != nil {
				t.Fatalf("Parse = %v, %v; want only an error", e, err)
			}
			checkLineErrors(t, err, "policy.csv", tt.want)
		})
	}
}
