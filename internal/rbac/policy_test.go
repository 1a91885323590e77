package rbac

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		// want are the line numbers and a part of the message of each
		// error, in order; line 0 is an error about no single line.
		want []lineWant
	}{
		{"unknown resource", Policy{CSV: "# comment\n\np, alice, application, get, */*, allow"},
			[]lineWant{{3, `unknown resource "application": use applications, projects, repositories, clusters, accounts, logs or * (did you mean applications?)`}}},
		{"unknown action", Policy{CSV: "p, alice, applications, deploy, */*, allow"},
			[]lineWant{{1, `unknown action "deploy": use get, create, update, delete, sync, rollback, override or *`}}},
		{"unknown effect", Policy{CSV: "p, alice, applications, get, */*, permit"},
			[]lineWant{{1, `unknown effect "permit": the last field is allow or deny`}}},
		{"p line without effect", Policy{CSV: "p, alice, applications, get, */*"},
			[]lineWant{{1, "a p line has 5 fields after p: subject, resource, action, object and effect"}}},
		{"g line with three fields", Policy{CSV: "g, alice, role:a, role:b"},
			[]lineWant{{1, "a g line has 2 fields after g"}}},
		{"unknown line type", Policy{CSV: "r, alice, role:a"},
			[]lineWant{{1, `a line starts with p (a permission) or g (a role assignment), not "r"`}}},
		{"application object without project", Policy{CSV: "p, alice, applications, get, team-a, allow"},
			[]lineWant{{1, "write team-a/* for all applications of project team-a"}}},
		{"object with white space", Policy{CSV: `p, alice, projects, get, "team a", allow`},
			[]lineWant{{1, `object "team a" contains white space`}}},
		{"empty object", Policy{CSV: "p, alice, projects, get, , allow"},
			[]lineWant{{1, "the object is empty: write * for all objects"}}},
		{"bad quotes", Policy{CSV: `p, "alice, projects, get, *, allow`},
			[]lineWant{{1, "check the quotes"}}},
		{"every bad line is reported", Policy{CSV: "p, a, apps, get, *, allow\ng, b, role:x\np, c, projects, push, *, allow\n"},
			[]lineWant{{1, `unknown resource "apps"`}, {3, `unknown action "push"`}}},
		{"undefined default role", Policy{CSV: "p, role:dev, projects, get, *, allow", Default: "role:devs"},
			[]lineWant{{0, `policy.default: role "role:devs" has no p or g line`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(tt.policy)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if e != nil {
				t.Error("Parse returned an Enforcer with its error")
			}
			checkLineErrors(t, err, "policy.csv", tt.want)
		})
	}
}

type lineWant struct {
	line int
	text string
}

// checkLineErrors checks that err joins one error per want, each a
// *LineError at the wanted line (or, for line 0, any error) whose message
// contains the wanted text.
func checkLineErrors(t *testing.T, err error, where string, want []lineWant) {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(errs[i].Error(), w.text) {
			t.Errorf("error %d = %q, want it to contain %q", i, errs[i], w.text)
		}
		if w.line == 0 {
			continue
		}
		var le *LineError
		if !errors.As(errs[i], &le) {
			t.Errorf("error %d = %q is not a *LineError", i, errs[i])
			continue
		}
		if le.Line != w.line || !strings.HasPrefix(le.Where, where) {
			t.Errorf("error %d is at %q line %d, want %s line %d", i, le.Where, le.Line, where, w.line)
		}
	}
}

func TestParseAccepts(t *testing.T) {
	csv := strings.Join([]string{
		"# a comment, then a blank line",
		"",
		"p, role:dev, *, get, *, allow",
		"p, role:dev, applications, *, team-a/*, allow",
		"p, role:dev, repositories, get, https://github.com/org/*, allow",
		"p, role:dev, clusters, get, https://[fd00::1]:6443, allow",
		"p, role:dev, accounts, update, alice, allow",
		`g, "cn=devs,ou=groups,dc=example,dc=org", role:dev`,
		"p, role:dev, applications, get, team-a/web, allow", // a duplicate of nothing
		"p, role:dev, applications, get, team-a/web, allow", // a duplicate is harmless
		"\r",
	}, "\n")
	e, err := Parse(Policy{CSV: csv, Default: " role:dev "})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if e.Lines() != 8 || e.Default() != "role:dev" {
		t.Errorf("Lines() = %d, Default() = %q, want 8 and role:dev", e.Lines(), e.Default())
	}
	if !e.Allowed([]Subject{SSOUser("ivan"), Group("cn=devs,ou=groups,dc=example,dc=org")}, "accounts", "update", "alice") {
		t.Error("a member of the quoted LDAP group may not update account alice")
	}
}

func TestBuiltinPolicyParses(t *testing.T) {
	if _, err := parseLines("built-in policy", builtinPolicy); err != nil {
		t.Fatal(err)
	}
}

func TestCSVLineRoundTrip(t *testing.T) {
	fields := []string{"g", `cn=a "b",dc=org`, " padded ", "proj:team-a:dev"}
	got, err := splitLine(csvLine(fields))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"g", `cn=a "b",dc=org`, "padded", "proj:team-a:dev"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("round trip of %q = %q, want %q", fields, got, want)
	}
}
