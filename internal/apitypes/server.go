package apitypes

import (
	"time"

	"soll.dev/internal/version"
)

// Error is the body of every error response.
type Error struct {
	// Code is a machine-readable class: NotFound, Invalid, Unauthorized,
	// Forbidden, Conflict, AlreadyExists, TooLarge, MethodNotAllowed,
	// RenderFailed, Timeout, NotImplemented or Internal.
	Code string `json:"code"`
	// Message says what went wrong, for people.
	Message string `json:"message"`
	// Field is the JSON path of the offending field of the request, when
	// one is to blame (spec.destination.namespace).
	Field string `json:"field,omitempty"`
}

// VersionInfo is the response of GET /api/v1/version.
type VersionInfo struct {
	version.Info
	// Server is the version the server was started with.
	Server string `json:"server,omitempty"`
}

// Session is the response of GET /api/v1/session: who the caller is.
type Session struct {
	Subject string   `json:"subject"`
	Groups  []string `json:"groups,omitempty"`
	Project string   `json:"project,omitempty"`
	Role    string   `json:"role,omitempty"`
	TokenID string   `json:"tokenID,omitempty"`
}

// LoginRequest is the body of POST /api/v1/session: a local account's
// credentials.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoginResponse is the answer of a password login.
type LoginResponse struct {
	// Token is the session token (also set as the session cookie); it is
	// a secret.
	Token     string    `json:"token"`
	Subject   string    `json:"subject"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Cluster is a deployment target.
type Cluster struct {
	Name   string `json:"name"`
	Server string `json:"server"`
}

// Settings is the response of GET /api/v1/settings: nothing secret.
type Settings struct {
	Namespace string `json:"namespace"`
	// ResourceCustomizations names the keys of soll's settings ConfigMap
	// (custom health checks, ignore rules, plugins); not their values.
	ResourceCustomizations []string `json:"resourceCustomizations"`
	// MaxBodyBytes and ListLimit are the API's own limits.
	MaxBodyBytes int64 `json:"maxBodyBytes"`
	ListLimit    int   `json:"listLimit"`
}

// AuditEntry is one record of the audit log.
type AuditEntry struct {
	// ID identifies the entry; entries of one instant sort by it.
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Source is "api" for requests to the API, "controller" for the
	// controller's operations (read back from its Events).
	Source string `json:"source"`
	// User is who acted: an account, an SSO user ("sso:..." or an email),
	// a project role ("proj:<project>:<role>"), the name a failed login
	// claimed, or the controller.
	User string `json:"user"`
	// TokenID is the id of the API token used, when one was.
	TokenID string `json:"tokenID,omitempty"`
	// Action is what was done: Create, Update, Patch, Delete, Sync,
	// Rollback, Terminate, Refresh, Unpin, CreateToken, DeleteToken,
	// SetPassword, Test, Login, Logout; for the controller, the reason
	// of its Event (OperationStarted, OperationCompleted, ...).
	Action string `json:"action"`
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
	// Resource and Object name what was acted on as RBAC does
	// (applications and the app's name, projects, accounts, repositories
	// and the repository URL); Project is the app's or project's project.
	Resource string `json:"resource"`
	Object   string `json:"object"`
	Project  string `json:"project,omitempty"`
	// Status is the HTTP status of the answer; Result says it in words:
	// accepted, created, done, refused (<code>) or failed (<code>).
	Status int    `json:"status,omitempty"`
	Result string `json:"result,omitempty"`
	// Message says it all in a sentence: "admin synced app guestbook:
	// accepted".
	Message string `json:"message"`
	// Count is how many times the controller reported the same Event.
	Count int32 `json:"count,omitempty"`
}

// AuditList is the response of GET /api/v1/audit.
type AuditList struct {
	Items    []AuditEntry `json:"items"`
	Continue string       `json:"continue,omitempty"`
}

// WebhookResult is the answer of POST /api/webhook: how many applications
// a push asked to refresh.
type WebhookResult struct {
	Matched int `json:"matched"`
}
