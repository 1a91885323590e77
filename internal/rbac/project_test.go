package rbac

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
)

func TestProjectPolicies(t *testing.T) {
	p := teamAProject()
	p.Spec.Roles = append(p.Spec.Roles, sollv1.ProjectRole{Name: "ldap", Groups: []string{"cn=ops,dc=example,dc=org"}})
	got, err := ProjectPolicies(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"p, proj:team-a:deployer, applications, get, team-a/*, allow",
		"p, proj:team-a:deployer, applications, sync, team-a/*, allow",
		"p, proj:team-a:deployer, logs, *, team-a/*, allow",
		"g, group:team-a-devs, proj:team-a:deployer",
		`g, "group:cn=ops,dc=example,dc=org", proj:team-a:ldap`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ProjectPolicies (-want +got):\n%s", diff)
	}
}

func TestProjectPoliciesRefused(t *testing.T) {
	p := &sollv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
		Spec: sollv1.ProjectSpec{Roles: []sollv1.ProjectRole{{
			Name: "dev",
			Policies: []string{
				"p, proj:team-a:dev, applications, get, team-a/*, allow", // fine
				"p, proj:team-b:dev, applications, get, team-a/*, allow",
				"p, proj:team-a:dev, applications, get, team-b/*, allow",
				"p, proj:team-a:dev, applications, get, */*, allow",
				"p, proj:team-a:dev, applications, get, team-a*/web, allow",
				"p, proj:team-a:dev, projects, get, team-a/x, allow",
				"p, proj:team-a:dev, *, get, team-a/*, allow",
				"g, alice, proj:team-a:dev",
				"p, proj:team-a:dev, applications, deploy, team-a/*, allow",
			},
		}}},
	}
	_, err := ProjectPolicies(p)
	if err == nil {
		t.Fatal("ProjectPolicies succeeded, want errors")
	}
	checkLineErrors(t, err, "project team-a spec.roles[dev].policies", []lineWant{
		{2, "the subject of this role's lines is proj:team-a:dev, not proj:team-b:dev"},
		{3, "may only grant within its project: write an object starting with team-a/"},
		{4, "may only grant within its project"},
		{5, "may only grant within its project"},
		{6, "may grant on applications and logs only, not on projects"},
		{7, "may grant on applications and logs only, not on *"},
		{8, "put the groups of the role in spec.roles[dev].groups"},
		{9, `unknown action "deploy"`},
	})
	if !strings.Contains(err.Error(), "project team-a spec.roles[dev].policies[1]:") {
		t.Errorf("the error does not name the policy by its index:\n%v", err)
	}
	if _, err := Parse(Policy{}, p); err == nil {
		t.Error("Parse accepted a project with refused policies")
	}
}
