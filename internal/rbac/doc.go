// Package rbac decides who may do what in soll.
//
// A policy is a list of Casbin CSV lines. A p line grants or denies one
// subject an action on a resource's objects:
//
//	p, <subject>, <resource>, <action>, <object>, <allow|deny>
//
// and a g line gives a user or an SSO group a role:
//
//	g, <user or group>, <role>
//
// Subjects have kinds, written before the name and set by soll from where
// a name comes from, never by the name: "user:<account>" for a local
// account, "sso:<email or sub>" for an SSO user, "group:<name>" for an SSO
// group (also any name without a kind), "role:<name>" for a role and
// "proj:<project>:<role>" for a Project role. An SSO group called "admin"
// is "group:admin" and never the local account admin ("user:admin") nor,
// called "role:admin", the role; see Subject.
//
// Objects are globs in which "*" matches any run of characters, "/"
// included, so "team-a/*" matches every Application of Project team-a and
// "*" matches everything. A request is allowed when one of its subjects,
// directly or through its roles, has a matching allow line and none has a
// matching deny line: deny wins over allow, across all subjects of the
// request.
//
// The built-in roles role:admin (everything) and role:readonly (get on
// everything) always exist, and the local account admin always has
// role:admin (g, user:admin, role:admin). The default role applies to
// every authenticated request.
// Project roles (subject "proj:<project>:<role>") come from the Projects'
// spec.roles and may only grant within their Project.
//
// The lines are loaded into a Casbin model, whose role manager resolves
// the g lines. Allowed then looks only at the lines of the request's
// subjects and roles, indexed when the policy is parsed, instead of
// evaluating every line through Casbin's expression interpreter; a test
// checks that both decide every request the same way.
//
// Store serves the policy of a running soll: the ConfigMap soll-rbac plus
// the Projects, reloaded when they change, keeping the last good policy
// when an edit breaks it.
package rbac
