package apitypes

import (
	"time"

	sollv1 "soll.dev/api/v1alpha1"
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

// Cluster is a deployment target: the cluster soll runs in, or a
// registered Cluster. It never holds a credential's value.
type Cluster struct {
	Name   string `json:"name"`
	Server string `json:"server"`
	// InCluster marks the cluster soll runs in, which has no Cluster
	// object and cannot be changed through the API.
	InCluster bool              `json:"inCluster,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Namespaces are the only namespaces soll may touch; empty means all.
	Namespaces []string `json:"namespaces,omitempty"`
	// ClusterResources says whether soll may deploy cluster-scoped
	// objects there (the Cluster's setting or its default).
	ClusterResources bool   `json:"clusterResources"`
	HasCAData        bool   `json:"hasCAData,omitempty"`
	TLSServerName    string `json:"tlsServerName,omitempty"`
	ProxyURL         string `json:"proxyURL,omitempty"`
	// Credentials is the kind of credentials soll uses: token,
	// certificate or exec; missing when the Cluster's Secret is absent
	// or holds neither; empty for the in-cluster entry.
	Credentials string `json:"credentials,omitempty"`
	// ExecCommand is the command of exec credentials.
	ExecCommand string `json:"execCommand,omitempty"`
	// SecretName is the Secret of soll's namespace that holds token or
	// certificate credentials.
	SecretName string `json:"secretName,omitempty"`
	// Status is what soll's controller last observed; absent until it
	// has.
	Status *ClusterState `json:"status,omitempty"`
}

// ClusterState is the observed state of a registered cluster.
type ClusterState struct {
	// Reachable is True, False or Unknown (not yet checked).
	Reachable string `json:"reachable"`
	// Message says why it is not reachable, or what answered.
	Message        string     `json:"message,omitempty"`
	ServerVersion  string     `json:"serverVersion,omitempty"`
	LastContact    *time.Time `json:"lastContact,omitempty"`
	Applications   int32      `json:"applications"`
	WatchedKinds   int32      `json:"watchedKinds"`
	WatchedObjects int32      `json:"watchedObjects"`
}

// ClusterCredentials are the credentials soll uses for a cluster: exactly
// one of a bearer token, a client certificate and key, or an exec
// credential plugin. They are stored, never returned.
type ClusterCredentials struct {
	Token    string `json:"token,omitempty"`
	CertData string `json:"certData,omitempty"`
	KeyData  string `json:"keyData,omitempty"`
	// Exec runs a command that prints an ExecCredential.
	Exec *sollv1.ClusterExec `json:"exec,omitempty"`
}

// ClusterRequest is the body of POST /api/v1/clusters.
type ClusterRequest struct {
	Name             string             `json:"name"`
	Server           string             `json:"server"`
	CAData           string             `json:"caData,omitempty"`
	TLSServerName    string             `json:"tlsServerName,omitempty"`
	ProxyURL         string             `json:"proxyURL,omitempty"`
	Namespaces       []string           `json:"namespaces,omitempty"`
	ClusterResources *bool              `json:"clusterResources,omitempty"`
	Labels           map[string]string  `json:"labels,omitempty"`
	Credentials      ClusterCredentials `json:"credentials"`
}

// ClusterPatch is the body of PATCH /api/v1/clusters/{name}: absent
// fields stay as they are; an empty string clears caData, tlsServerName
// and proxyURL, an empty list the namespaces (all namespaces), an empty
// object the labels.
type ClusterPatch struct {
	Server           *string            `json:"server,omitempty"`
	CAData           *string            `json:"caData,omitempty"`
	TLSServerName    *string            `json:"tlsServerName,omitempty"`
	ProxyURL         *string            `json:"proxyURL,omitempty"`
	Namespaces       *[]string          `json:"namespaces,omitempty"`
	ClusterResources *bool              `json:"clusterResources,omitempty"`
	Labels           *map[string]string `json:"labels,omitempty"`
}

// ClusterDeleted is the answer of DELETE /api/v1/clusters/{name}.
type ClusterDeleted struct {
	Name string `json:"name"`
	// Applications is the number of Applications that still name the
	// cluster (by name or server) as their destination; they are left
	// alone and fail until it is registered again or they are changed.
	Applications int `json:"applications"`
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
	// SetPassword, SetCredentials, Test, Login, Logout; for the
	// controller, the reason of its Event (OperationStarted,
	// OperationCompleted, ...).
	Action string `json:"action"`
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
	// Resource and Object name what was acted on as RBAC does
	// (applications and the app's name, projects, accounts, repositories
	// and the repository URL, clusters and the server URL); Project is
	// the app's or project's project.
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
