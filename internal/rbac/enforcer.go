package rbac

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"

	sollv1 "soll.dev/api/v1alpha1"
)

// casbinModel states the semantics Allowed implements: a subject matches
// a line through its roles (g), "*" matches any resource and action, the
// object is a glob, and one matching deny outweighs any number of allows.
const casbinModel = `
[request_definition]
r = sub, res, act, obj

[policy_definition]
p = sub, res, act, obj, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && (p.res == "*" || p.res == r.res) && (p.act == "*" || p.act == r.act) && objectMatch(r.obj, p.obj)
`

// Enforcer decides requests against one policy. It never changes after
// Parse, so any number of goroutines may use it.
type Enforcer struct {
	defaultRole Subject
	// rules are the p lines by subject.
	rules map[Subject][]rule
	// roles are the roles each g-line member has, transitively.
	roles map[Subject][]Subject
	// lines is the number of lines in the policy's CSV.
	lines int
	// casbin holds the same policy in Casbin's model; tests compare its
	// decisions with Allowed's.
	casbin *casbin.Enforcer
}

// Parse checks the policy and the roles of the projects and builds an
// Enforcer from them together with the built-in policy. The error lists
// every line soll cannot use (each a *LineError where it is about one line);
// then the Enforcer is nil.
func Parse(p Policy, projects ...*sollv1.Project) (*Enforcer, error) {
	builtin, err := parseLines("built-in policy", builtinPolicy)
	if err != nil {
		panic(err) // the built-in policy is covered by tests
	}
	source := p.Source
	if source == "" {
		source = KeyPolicy
	}
	base, err := parseLines(source, p.CSV)
	errs := flatten(nil, err)
	all := []parsed{builtin, base}
	for _, proj := range projects {
		lines, err := ProjectPolicies(proj)
		if err != nil {
			errs = flatten(errs, err)
			continue
		}
		pp, err := parseLines("project "+proj.Name, strings.Join(lines, "\n"))
		errs = flatten(errs, err)
		all = append(all, pp)
	}
	// The default role must be defined by the base policy, so that
	// removing a Project can never leave it undefined.
	def := Subject(strings.TrimSpace(p.Default))
	switch {
	case def == "":
	case !strings.HasPrefix(string(def), kindRole) || !def.isRole():
		errs = append(errs, fmt.Errorf("policy.default: %q is not a role: use %s, %s, a role of policy.csv (role:<name>), or leave it empty", def, RoleReadonly, RoleAdmin))
	case !defined(def, all[:2]):
		errs = append(errs, fmt.Errorf("policy.default: role %q has no p or g line: use %s, %s, a role of policy.csv, or leave it empty", def, RoleReadonly, RoleAdmin))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	e, err := build(def, all)
	if err != nil {
		return nil, err
	}
	e.lines = base.lines
	return e, nil
}

// flatten appends err to errs, the errors it joins one by one, so that a
// caller sees one flat list.
func flatten(errs []error, err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			errs = flatten(errs, e)
		}
		return errs
	}
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

// defined reports whether role appears in any line.
func defined(role Subject, all []parsed) bool {
	for _, p := range all {
		for _, r := range p.rules {
			if r.subject == role {
				return true
			}
		}
		for _, l := range p.links {
			if l.role == role || l.member == role {
				return true
			}
		}
	}
	return false
}

// build loads the lines into Casbin, lets its role manager resolve the g
// lines, and indexes the p lines by subject for Allowed.
func build(defaultRole Subject, all []parsed) (*Enforcer, error) {
	m, err := model.NewModelFromString(casbinModel)
	if err != nil {
		return nil, fmt.Errorf("load rbac model: %w", err)
	}
	ce, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("create casbin enforcer: %w", err)
	}
	ce.AddFunction("objectMatch", casbinObjectMatch)
	e := &Enforcer{defaultRole: defaultRole, rules: map[Subject][]rule{}, roles: map[Subject][]Subject{}, casbin: ce}
	members := map[Subject]bool{}
	for _, p := range all {
		for _, r := range p.rules {
			e.rules[r.subject] = append(e.rules[r.subject], r)
			if err := persist.LoadPolicyArray(append([]string{"p"}, r.fields...), ce.GetModel()); err != nil {
				return nil, fmt.Errorf("load policy line %v: %w", r.fields, err)
			}
		}
		for _, l := range p.links {
			members[l.member] = true
			if err := persist.LoadPolicyArray([]string{"g", string(l.member), string(l.role)}, ce.GetModel()); err != nil {
				return nil, fmt.Errorf("load role line %s, %s: %w", l.member, l.role, err)
			}
		}
	}
	if err := ce.BuildRoleLinks(); err != nil {
		return nil, fmt.Errorf("build role links: %w", err)
	}
	for member := range members {
		names, err := ce.GetImplicitRolesForUser(string(member))
		if err != nil {
			return nil, fmt.Errorf("resolve roles of %s: %w", member, err)
		}
		// Only roles with p lines can change a decision.
		var roles []Subject
		for _, r := range names {
			if len(e.rules[Subject(r)]) > 0 {
				roles = append(roles, Subject(r))
			}
		}
		if len(roles) > 0 {
			e.roles[member] = roles
		}
	}
	return e, nil
}

// casbinObjectMatch is the matcher function of casbinModel. It is not
// named globMatch because Casbin's built-in function of that name lets "*"
// stop at "/".
func casbinObjectMatch(args ...any) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("objectMatch takes 2 arguments, got %d", len(args))
	}
	object, _ := args[0].(string)
	pattern, _ := args[1].(string)
	g, err := compileGlob(pattern)
	if err != nil {
		return false, nil
	}
	return g.match(object), nil
}

// Allowed reports whether a request may do action on the resource's
// object. subjects are who makes the request: the local account, or the
// SSO user and their groups, or the project role of a project token, each
// made with Account, SSOUser, Group or ProjectRole. It is true when some
// subject, directly or through its roles or the default role, has a
// matching allow line and none has a matching deny line. A request
// without subjects is unauthenticated and never allowed, nor is one with
// a subject of another form (a role, or a name without its kind); an
// unknown resource or action is never allowed either.
func (e *Enforcer) Allowed(subjects []Subject, resource, action, object string) bool {
	if len(subjects) == 0 || !slices.Contains(Resources, resource) || !slices.Contains(Actions, action) {
		return false
	}
	for _, s := range subjects {
		if !s.requester() {
			return false
		}
	}
	var allowed bool
	for _, s := range subjects {
		if !e.check(s, resource, action, object, &allowed) {
			return false
		}
	}
	if e.defaultRole != "" && !e.check(e.defaultRole, resource, action, object, &allowed) {
		return false
	}
	return allowed
}

// check looks at the lines of subject and its roles. It returns false on
// a matching deny and sets *allowed on a matching allow.
func (e *Enforcer) check(subject Subject, resource, action, object string, allowed *bool) bool {
	if !e.checkLines(subject, resource, action, object, allowed) {
		return false
	}
	for _, role := range e.roles[subject] {
		if !e.checkLines(role, resource, action, object, allowed) {
			return false
		}
	}
	return true
}

func (e *Enforcer) checkLines(subject Subject, resource, action, object string, allowed *bool) bool {
	rules := e.rules[subject]
	for i := range rules {
		if rules[i].matches(resource, action, object) {
			if rules[i].deny {
				return false
			}
			*allowed = true
		}
	}
	return true
}

// Lines is the number of p and g lines in the policy's CSV, not counting
// the built-in policy and the Projects' roles.
func (e *Enforcer) Lines() int { return e.lines }

// Default is the default role, empty when there is none.
func (e *Enforcer) Default() string { return string(e.defaultRole) }
