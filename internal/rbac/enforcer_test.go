package rbac

import (
	"fmt"
	"os"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
)

// objects are a request object for each resource, inside team-a or, as
// "other", outside it.
var objects = map[string][2]string{
	"applications": {"team-a/web", "team-b/web"},
	"logs":         {"team-a/web", "team-b/web"},
	"projects":     {"team-a", "team-b"},
	"repositories": {"https://git.example/team-a/app.git", "https://git.example/team-b/app.git"},
	"clusters":     {"https://kube-a.example:6443", "https://kube-b.example:6443"},
	"accounts":     {"alice", "bob"},
}

func teamAProject() *sollv1.Project {
	return &sollv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", Namespace: "soll"},
		Spec: sollv1.ProjectSpec{Roles: []sollv1.ProjectRole{{
			Name: "deployer",
			Policies: []string{
				"p, proj:team-a:deployer, applications, get, team-a/*, allow",
				"p, proj:team-a:deployer, applications, sync, team-a/*, allow",
				"p, proj:team-a:deployer, logs, *, team-a/*, allow",
			},
			Groups: []string{"team-a-devs"},
		}}},
	}
}

func fixturePolicy(t testing.TB, def string) Policy {
	t.Helper()
	csv, err := os.ReadFile("testdata/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	return Policy{CSV: string(csv), Default: def}
}

// TestAllowed decides every resource × action pair, on an object inside
// team-a and one outside, for each kind of subject, and checks that
// Casbin's own Enforce on the same policy agrees.
func TestAllowed(t *testing.T) {
	e, err := Parse(fixturePolicy(t, ""), teamAProject())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	withDefault, err := Parse(fixturePolicy(t, RoleReadonly), teamAProject())
	if err != nil {
		t.Fatalf("parse with default role: %v", err)
	}
	type request struct {
		res, act string
		teamA    bool // the object is inside team-a
	}
	tests := []struct {
		name     string
		e        *Enforcer
		subjects []Subject
		want     func(r request) bool
	}{
		{"local admin account", e, []Subject{Account("admin")}, func(request) bool { return true }},
		{"group mapped to role:admin", e, []Subject{SSOUser("carol"), Group("ops-admins")}, func(request) bool { return true }},
		{"readonly", e, []Subject{SSOUser("rita"), Group("reader")}, func(r request) bool { return r.act == "get" }},
		{"custom role syncs team-a only", e, []Subject{Account("dana")}, func(r request) bool {
			return r.res == "applications" && r.act == "sync" && r.teamA
		}},
		{"deny of one group beats allow of another", e, []Subject{SSOUser("erin"), Group("ops-admins"), Group("contractors")}, func(r request) bool {
			return r.act != "delete"
		}},
		{"role reached through two g lines", e, []Subject{SSOUser("frank"), Group("team-b")}, func(r request) bool {
			return (r.res == "applications" || r.res == "logs") && r.act == "get" && !r.teamA
		}},
		{"project token stays in its project", e, []Subject{ProjectRole("team-a", "deployer")}, func(r request) bool {
			return r.teamA && (r.res == "applications" && (r.act == "get" || r.act == "sync") || r.res == "logs")
		}},
		{"group of a project role", e, []Subject{SSOUser("gina"), Group("team-a-devs")}, func(r request) bool {
			return r.teamA && (r.res == "applications" && (r.act == "get" || r.act == "sync") || r.res == "logs")
		}},
		{"unknown user without default role", e, []Subject{Account("nobody")}, func(request) bool { return false }},
		{"unknown user with default role", withDefault, []Subject{Account("nobody")}, func(r request) bool { return r.act == "get" }},
		{"default role adds to a custom role", withDefault, []Subject{Account("dana")}, func(r request) bool {
			return r.act == "get" || r.res == "applications" && r.act == "sync" && r.teamA
		}},
		{"unauthenticated gets no default role", withDefault, nil, func(request) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, res := range Resources {
				for _, act := range Actions {
					for i, obj := range objects[res] {
						r := request{res: res, act: act, teamA: i == 0}
						got := tt.e.Allowed(tt.subjects, res, act, obj)
						if want := tt.want(r); got != want {
							t.Errorf("Allowed(%q, %s, %s, %s) = %v, want %v", tt.subjects, res, act, obj, got, want)
						}
						if len(tt.subjects) > 0 {
							if ref := casbinAllowed(t, tt.e, tt.subjects, res, act, obj); ref != got {
								t.Errorf("Casbin's Enforce decides (%q, %s, %s, %s) = %v, Allowed %v", tt.subjects, res, act, obj, ref, got)
							}
						}
					}
				}
			}
		})
	}
}

// casbinAllowed decides a request with Casbin's Enforce. Casbin takes one
// subject, so a request subject is linked to all of them for the call.
func casbinAllowed(t testing.TB, e *Enforcer, subjects []Subject, res, act, obj string) bool {
	t.Helper()
	const req = "test:request"
	var links [][]string
	for _, s := range subjects {
		links = append(links, []string{req, string(s)})
	}
	if e.defaultRole != "" && !slices.Contains(subjects, e.defaultRole) {
		links = append(links, []string{req, string(e.defaultRole)})
	}
	if _, err := e.casbin.AddGroupingPolicies(links); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := e.casbin.RemoveGroupingPolicies(links); err != nil {
			t.Fatal(err)
		}
	}()
	ok, err := e.casbin.Enforce(req, res, act, obj)
	if err != nil {
		t.Fatalf("casbin enforce: %v", err)
	}
	return ok
}

func TestAllowedUnknownResourceOrAction(t *testing.T) {
	e, err := Parse(Policy{})
	if err != nil {
		t.Fatal(err)
	}
	admin := []Subject{Account("admin")}
	if e.Allowed(admin, "applicationsets", "get", "*") {
		t.Error("an unknown resource was allowed")
	}
	if e.Allowed(admin, "applications", "exec", "team-a/web") {
		t.Error("an unknown action was allowed")
	}
	if !e.Allowed(admin, "applications", "get", "team-a/web") {
		t.Error("admin may not get an application")
	}
}

func TestAllowedRoleCycle(t *testing.T) {
	e, err := Parse(Policy{CSV: "g, role:a, role:b\ng, role:b, role:a\np, role:b, projects, get, *, allow\ng, user:hana, role:a"})
	if err != nil {
		t.Fatal(err)
	}
	if !e.Allowed([]Subject{Account("hana")}, "projects", "get", "team-a") {
		t.Error("hana may not get a project through role:a -> role:b")
	}
}

func TestParseLines(t *testing.T) {
	e, err := Parse(fixturePolicy(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if e.Lines() != 9 {
		t.Errorf("Lines() = %d, want 9", e.Lines())
	}
}

// BenchmarkAllowed decides requests against a policy of 1,000 lines: 100
// roles with 8 p lines each, 200 users and groups mapped to them, and a
// request by a user in three groups.
func BenchmarkAllowed(b *testing.B) {
	e := benchEnforcer(b)
	subjects := []Subject{SSOUser("user-7"), Group("group-1"), Group("group-2"), Group("group-3")}
	b.ResetTimer()
	for b.Loop() {
		e.Allowed(subjects, "applications", "sync", "team-42/web")
	}
}

// BenchmarkCasbinEnforce is the same request through Casbin's Enforce, for
// comparison: it evaluates every line.
func BenchmarkCasbinEnforce(b *testing.B) {
	e := benchEnforcer(b)
	for b.Loop() {
		if _, err := e.casbin.Enforce(string(SSOUser("user-7")), "applications", "sync", "team-42/web"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEnforcer(b *testing.B) *Enforcer {
	var csv []byte
	for r := range 100 {
		for i, act := range []string{"get", "sync", "create", "delete", "update", "rollback", "override"} {
			csv = fmt.Appendf(csv, "p, role:r%d, applications, %s, team-%d/*, allow\n", r, act, r+i)
		}
		csv = fmt.Appendf(csv, "p, role:r%d, logs, get, team-%d/*, deny\n", r, r)
	}
	for u := range 200 {
		csv = fmt.Appendf(csv, "g, sso:user-%d, role:r%d\n", u, u%100)
	}
	e, err := Parse(Policy{CSV: string(csv)})
	if err != nil {
		b.Fatal(err)
	}
	if e.Lines() != 1000 {
		b.Fatalf("policy has %d lines, want 1000", e.Lines())
	}
	return e
}
