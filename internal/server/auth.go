package server

import (
	"net/http"

	"soll.dev/internal/rbac"
)

// Principal is the caller of a request, as an Authenticator found it.
type Principal struct {
	// Subject is the user name or the token's subject.
	Subject string
	// Groups are the caller's groups (from SSO or local accounts).
	Groups []string
	// Project and Role are set for project-scoped tokens.
	Project, Role string
	// TokenID identifies the API token used, when one was; never the
	// token itself.
	TokenID string
	// Subjects are who the caller is for RBAC, each typed by its kind
	// (see auth.Principal.Subjects). Subject and Groups are names to show
	// and record; an Authorizer decides with Subjects, so that an SSO
	// group or user named like a local account or a role is never taken
	// for one.
	Subjects []rbac.Subject
}

// Authenticator finds the principal of a request. It returns (nil, nil)
// when the request carries no credentials, and an error when it carries
// invalid ones: such a request is refused with 401, never served as
// anonymous.
type Authenticator interface {
	Authenticate(r *http.Request) (*Principal, error)
}

// Authorizer decides RBAC questions. resource is one of applications,
// projects, repositories, clusters, accounts and logs; action one of get,
// create, update, delete, sync, rollback and override; object is
// "<project>/<app>" for applications and the object's name otherwise.
type Authorizer interface {
	Allowed(p *Principal, resource, action, object string) bool
}

// RBAC resources and actions the server asks about.
const (
	resApplications = "applications"
	resProjects     = "projects"
	resRepositories = "repositories"
	resClusters     = "clusters"
	resAccounts     = "accounts"

	actGet      = "get"
	actCreate   = "create"
	actUpdate   = "update"
	actDelete   = "delete"
	actSync     = "sync"
	actRollback = "rollback"
	actOverride = "override"
)
