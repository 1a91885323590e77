package auth

import (
	"errors"
	"fmt"
	"time"

	"soll.dev/internal/rbac"
)

// Kinds of Principal, also the "kind" claim of the tokens soll issues.
const (
	// KindSession is a local account logged in with its password.
	KindSession = "session"
	// KindSSO is a user logged in through the OIDC provider. Its Subject is
	// the provider's email or sub claim and is not a local account name.
	KindSSO = "sso"
	// KindAPIKey is an API token of a local account.
	KindAPIKey = "apikey"
	// KindProject is an API token of a Project role.
	KindProject = "project"
)

// Principal is who a request acts for.
type Principal struct {
	// Subject is the account name, the SSO user (email or sub claim), or
	// "proj:<project>:<role>" for Project role tokens.
	Subject string
	// Groups are the SSO groups of a KindSSO principal.
	Groups []string
	// Project and Role are set for KindProject principals.
	Project, Role string
	// TokenID is the token's jti claim.
	TokenID string
	// Kind is one of KindSession, KindSSO, KindAPIKey and KindProject.
	Kind string
	// ExpiresAt is when the token expires; zero means never (API tokens
	// issued without expiry).
	ExpiresAt time.Time
}

// Subjects are the RBAC subjects the principal's requests are decided
// for, each typed by where its name comes from so that no name can pass
// for another kind of subject: a local account (KindSession, KindAPIKey)
// is rbac.Account; an SSO user is rbac.SSOUser with an rbac.Group for
// each of its groups, so that a group the identity provider calls
// "admin" is never the local account admin nor, called "role:admin", the
// role; a Project role token is rbac.ProjectRole. A principal of no known
// kind has no subjects, and RBAC allows it nothing.
func (p *Principal) Subjects() []rbac.Subject {
	switch p.Kind {
	case KindSession, KindAPIKey:
		return []rbac.Subject{rbac.Account(p.Subject)}
	case KindSSO:
		subjects := make([]rbac.Subject, 0, 1+len(p.Groups))
		subjects = append(subjects, rbac.SSOUser(p.Subject))
		for _, g := range p.Groups {
			subjects = append(subjects, rbac.Group(g))
		}
		return subjects
	case KindProject:
		return []rbac.Subject{rbac.ProjectRole(p.Project, p.Role)}
	}
	return nil
}

var (
	// ErrInvalidCredentials is returned by Login for an unknown account, a
	// wrong password, a disabled account or one without the login
	// capability; the reasons are not told apart on purpose.
	ErrInvalidCredentials = errors.New("invalid username or password")
	// ErrInvalidToken is wrapped by every Authenticate error: the caller
	// answers 401 Unauthorized.
	ErrInvalidToken = errors.New("invalid token")
	// ErrNotFound is wrapped when an account, token or role does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidArgument is wrapped when an argument breaks a rule, such as
	// the password policy or the account name syntax.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrAlreadyExists is wrapped when the account or token id to create
	// is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrCSRF is returned by CheckCSRF.
	ErrCSRF = errors.New("missing CSRF header " + CSRFHeader + " on a cookie-authenticated request")
)

// ThrottledError is returned by Login while the account or the client
// address is throttled after too many failed logins.
type ThrottledError struct {
	// RetryAfter is how long until a login may be attempted again.
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins, retry in %s", e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrThrottled) true for any ThrottledError.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// ErrThrottled matches every ThrottledError with errors.Is; use errors.As
// to read RetryAfter.
var ErrThrottled = errors.New("login throttled")
