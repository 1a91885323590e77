package rbac

import (
	"fmt"
	"strings"
)

// Subject is who makes a request, as the Enforcer matches it: a kind and
// a name, written "<kind>:<name>". The kind comes first and is set by
// soll, never by the name, so that no name a user or an identity
// provider chooses can pass for a subject of another kind: an SSO group
// called "admin", "role:admin" or "user:admin" is the subject
// "group:admin", "group:role:admin" or "group:user:admin" and matches
// none of the local account admin, the role role:admin or anything but
// lines written for that group. Make Subjects with Account, SSOUser,
// Group and ProjectRole; a Subject of any other form is refused by
// Allowed.
type Subject string

// The kinds of subjects, as prefixes of their policy form.
const (
	// kindAccount is a local account.
	kindAccount = "user:"
	// kindSSO is a user logged in through single sign-on, by the email or
	// sub claim of the identity provider.
	kindSSO = "sso:"
	// kindGroup is an SSO group; a policy's subject without a kind is one.
	kindGroup = "group:"
	// kindRole is a role of the policy; requests are never made by one.
	kindRole = "role:"
	// kindProject is a role of a Project: "proj:<project>:<role>".
	kindProject = "proj:"
)

// Account is the subject of the local account name.
func Account(name string) Subject { return Subject(kindAccount + name) }

// SSOUser is the subject of a user logged in through single sign-on,
// identified by the provider's email or sub claim.
func SSOUser(id string) Subject { return Subject(kindSSO + id) }

// Group is the subject of the SSO group name, whatever characters the
// name has.
func Group(name string) Subject { return Subject(kindGroup + name) }

// ProjectRole is the subject of role in project, as its tokens and
// spec.roles use it.
func ProjectRole(project, role string) Subject {
	return Subject(ProjectSubject(project, role))
}

// String is the subject in the policy's notation.
func (s Subject) String() string { return string(s) }

// requester reports whether s is a subject a request can be made by: a
// local account, an SSO user or group, or a project role, with a name.
func (s Subject) requester() bool {
	key := string(s)
	for _, kind := range []string{kindAccount, kindSSO, kindGroup} {
		if name, ok := strings.CutPrefix(key, kind); ok {
			return name != ""
		}
	}
	_, _, ok := parseProject(key)
	return ok
}

// parseProject splits "proj:<project>:<role>".
func parseProject(key string) (project, role string, ok bool) {
	rest, ok := strings.CutPrefix(key, kindProject)
	if !ok {
		return "", "", false
	}
	project, role, ok = strings.Cut(rest, ":")
	return project, role, ok && project != "" && role != ""
}

// policySubject reads a subject as a policy line writes it and returns
// its typed form: "user:<account>", "sso:<email or sub>",
// "group:<group>", "role:<role>" and "proj:<project>:<role>" are taken as
// written, and any other name is an SSO group (the documented meaning of
// a bare name), so "platform" is "group:platform". A problem is returned
// as text for the caller to place.
func policySubject(field string) (Subject, string) {
	for _, kind := range []string{kindAccount, kindSSO, kindGroup, kindRole} {
		if name, ok := strings.CutPrefix(field, kind); ok {
			if name == "" {
				return "", fmt.Sprintf("%q names no %s: write %s<name>", field, kindNames[kind], kind)
			}
			return Subject(field), ""
		}
	}
	if strings.HasPrefix(field, kindProject) {
		if _, _, ok := parseProject(field); !ok {
			return "", fmt.Sprintf("%q is not a project role: write proj:<project>:<role>", field)
		}
		return Subject(field), ""
	}
	return Group(field), ""
}

// kindNames name the kinds in messages.
var kindNames = map[string]string{
	kindAccount: "local account",
	kindSSO:     "SSO user",
	kindGroup:   "SSO group",
	kindRole:    "role",
	kindProject: "project role",
}

// kindOf names the kind of s in messages, with an article.
func kindOf(s Subject) string {
	for kind, name := range kindNames {
		if strings.HasPrefix(string(s), kind) {
			if strings.HasPrefix(name, "SSO") {
				return "an " + name
			}
			return "a " + name
		}
	}
	return "a subject of no known kind"
}

// isRole reports whether s may have members: a role or a project role.
func (s Subject) isRole() bool {
	if name, ok := strings.CutPrefix(string(s), kindRole); ok {
		return name != ""
	}
	_, _, ok := parseProject(string(s))
	return ok
}

// ParseSubject reads the subject of a request written with its kind, as
// in a policy: "user:alice" (a local account), "sso:alice@example.com"
// (an SSO user), "group:ops" (an SSO group) or "proj:team-a:ci" (a
// project role's token). A name without a kind is refused rather than
// guessed, and so is a role, since requests are made by users, groups
// and project tokens, not by roles.
func ParseSubject(text string) (Subject, error) {
	const kinds = "user:<account>, sso:<email or sub>, group:<group> or proj:<project>:<role>"
	text = strings.TrimSpace(text)
	s, problem := policySubject(text)
	switch {
	case text == "":
		return "", fmt.Errorf("the subject is empty: write %s", kinds)
	case problem != "":
		return "", fmt.Errorf("subject %s", problem)
	case s == Group(text):
		return "", fmt.Errorf("subject %q has no kind: write user:%s for a local account, sso:%s for an SSO user, group:%s for an SSO group (%s)", text, text, text, text, kinds)
	case !s.requester():
		return "", fmt.Errorf("subject %q is a role, which makes no requests: write %s", text, kinds)
	}
	return s, nil
}
