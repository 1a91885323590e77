package rbac

import (
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Resources are the kinds of objects a policy line may name, besides "*".
var Resources = []string{"applications", "projects", "repositories", "clusters", "accounts", "logs"}

// Actions are the actions a policy line may name, besides "*".
var Actions = []string{"get", "create", "update", "delete", "sync", "rollback", "override"}

// Built-in role names.
const (
	RoleAdmin    = "role:admin"
	RoleReadonly = "role:readonly"
)

// builtinPolicy is part of every policy. The local account admin is the
// one soll creates at installation; its subject is always "user:admin".
const builtinPolicy = `p, role:admin, *, *, *, allow
p, role:readonly, *, get, *, allow
g, user:admin, role:admin
`

// Policy is soll's RBAC configuration, as in the ConfigMap soll-rbac.
type Policy struct {
	// CSV holds the policy lines (the ConfigMap key policy.csv).
	CSV string
	// Default is the role every authenticated subject has (the key
	// policy.default), for example "role:readonly"; empty means none.
	Default string
	// Source names the CSV in errors, for example a file name; empty
	// means "policy.csv".
	Source string
}

// LineError is a policy line that soll cannot use.
type LineError struct {
	// Where names the line, for example "policy.csv line 3" or
	// "project team-a spec.roles[deployer].policies[0]".
	Where string
	// Line is the 1-based number of the line within its source.
	Line int
	// Text is the line as written.
	Text string
	// Problem says what is wrong and what to write instead.
	Problem string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s: %s (in %q)", e.Where, e.Problem, e.Text)
}

// rule is one p line.
type rule struct {
	subject          Subject
	resource, action string
	object           glob
	deny             bool
	// fields are the line's fields after "p", as Casbin stores them: the
	// subject in its typed form.
	fields []string
}

// matches reports whether the rule covers the request; the subject is
// matched by the caller.
func (r *rule) matches(resource, action, object string) bool {
	return (r.resource == "*" || r.resource == resource) &&
		(r.action == "*" || r.action == action) &&
		r.object.match(object)
}

// link is one g line: member has role.
type link struct{ member, role Subject }

// parsed are the lines of one source.
type parsed struct {
	rules []rule
	links []link
	lines int
}

// parseLines checks and parses every line of text, returning all problems
// at once so that one run of the validator shows them all. source names
// the text in errors, for example "policy.csv".
func parseLines(source, text string) (parsed, error) {
	var out parsed
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out.lines++
		r, l, problem := parseLine(line)
		switch {
		case problem != "":
			errs = append(errs, &LineError{Where: fmt.Sprintf("%s line %d", source, i+1), Line: i + 1, Text: line, Problem: problem})
		case r != nil:
			out.rules = append(out.rules, *r)
		default:
			out.links = append(out.links, *l)
		}
	}
	return out, errors.Join(errs...)
}

// parseLine parses one line that is neither blank nor a comment into a
// rule or a link; a problem is returned as text for the caller to place.
func parseLine(line string) (*rule, *link, string) {
	fields, err := splitLine(line)
	if err != nil {
		return nil, nil, err.Error() + ": check the quotes"
	}
	switch fields[0] {
	case "p":
		r, problem := parseRule(fields[1:])
		if problem != "" {
			return nil, nil, problem
		}
		return &r, nil, ""
	case "g":
		if len(fields) != 3 {
			return nil, nil, fmt.Sprintf("a g line has 2 fields after g, a user or group and a role, as in \"g, alice, role:deployer\"; this one has %d", len(fields)-1)
		}
		if fields[1] == "" || fields[2] == "" {
			return nil, nil, "a g line needs a user or group and a role, both not empty"
		}
		member, problem := policySubject(fields[1])
		if problem != "" {
			return nil, nil, problem
		}
		role, problem := policySubject(fields[2])
		if problem != "" {
			return nil, nil, problem
		}
		if !role.isRole() {
			problem = fmt.Sprintf("the second field of a g line is a role, role:<name> or proj:<project>:<role>, but %q is %s", fields[2], kindOf(role))
			if role == Group(fields[2]) {
				problem += fmt.Sprintf(" (a name without a kind is a group): write role:%s if a role is meant", fields[2])
			}
			return nil, nil, problem
		}
		return nil, &link{member: member, role: role}, ""
	default:
		return nil, nil, fmt.Sprintf("a line starts with p (a permission) or g (a role assignment), not %q", fields[0])
	}
}

// splitLine splits a CSV line the way Casbin reads policy files.
func splitLine(line string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(line))
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	fields, err := r.Read()
	if err != nil {
		return nil, err
	}
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return fields, nil
}

// csvLine joins fields into a policy line, quoting those that need it
// (an LDAP group such as "cn=ops,dc=example,dc=org" has commas).
func csvLine(fields []string) string {
	quoted := make([]string, len(fields))
	for i, f := range fields {
		if strings.ContainsAny(f, ",\"") || strings.TrimSpace(f) != f {
			f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
		quoted[i] = f
	}
	return strings.Join(quoted, ", ")
}

// parseRule parses the fields of a p line after the "p"; a problem is
// returned as text for the caller to place.
func parseRule(f []string) (rule, string) {
	if len(f) != 5 {
		return rule{}, fmt.Sprintf("a p line has 5 fields after p: subject, resource, action, object and effect, as in \"p, role:deployer, applications, sync, team-a/*, allow\"; this one has %d", len(f))
	}
	res, act, obj, eft := f[1], f[2], f[3], f[4]
	if f[0] == "" {
		return rule{}, "the subject is empty: write a group, a role such as role:deployer, or a user such as user:alice"
	}
	sub, problem := policySubject(f[0])
	if problem != "" {
		return rule{}, problem
	}
	if res != "*" && !slices.Contains(Resources, res) {
		return rule{}, fmt.Sprintf("unknown resource %q: use %s or *%s", res, strings.Join(Resources, ", "), suggest(res, Resources))
	}
	if act != "*" && !slices.Contains(Actions, act) {
		return rule{}, fmt.Sprintf("unknown action %q: use %s or *%s", act, strings.Join(Actions, ", "), suggest(act, Actions))
	}
	if eft != "allow" && eft != "deny" {
		return rule{}, fmt.Sprintf("unknown effect %q: the last field is allow or deny", eft)
	}
	g, err := compileGlob(obj)
	if err != nil {
		return rule{}, err.Error()
	}
	if (res == "applications" || res == "logs") && obj != "*" && !strings.Contains(obj, "/") {
		return rule{}, fmt.Sprintf("the object of %s is <project>/<application>: write %s/* for all applications of project %s, or */%s for application %s in any project", res, obj, obj, obj, obj)
	}
	fields := append([]string{string(sub)}, f[1:]...)
	return rule{subject: sub, resource: res, action: act, object: g, deny: eft == "deny", fields: fields}, ""
}

// suggest returns ": did you mean X?" when word is a near miss of a valid
// name (a missing or extra plural "s", or a different case).
func suggest(word string, valid []string) string {
	for _, v := range valid {
		if strings.EqualFold(word, v) || strings.EqualFold(word+"s", v) || strings.EqualFold(word, v+"s") {
			return fmt.Sprintf(" (did you mean %s?)", v)
		}
	}
	return ""
}
