package server

import "net/http"

// route is one endpoint and its documentation; the OpenAPI description
// is generated from the route table, so the two cannot drift apart.
type route struct {
	method, path string
	// handler serves the route; nil for routes that soll serves beside
	// the API (login, SSO, webhooks), which are here to be documented.
	handler handlerFunc
	// public routes need no credentials.
	public bool
	// stream routes are server-sent events: no request timeout.
	stream bool
	// audit names the change a route makes, for the audit log; nil for
	// routes that change nothing.
	audit *auditSpec

	summary string
	query   []param
	request string // component schema of the body; "" for none
	// optionalBody routes take an empty body as the request's defaults.
	optionalBody bool
	response     string // component schema of the success body; "" for none
	status       int    // success status; zero means 200
}

type param struct{ name, typ, doc string }

var (
	appQueryParams = []param{
		{"limit", "integer", "page size, 1 to 1000 (default 100)"},
		{"continue", "string", "token from the previous page (its continue, or previous to go back)"},
		{"project", "string", "only apps of these projects (comma-separated)"},
		{"syncStatus", "string", "only apps with these sync statuses: Synced, OutOfSync, Unknown (comma-separated)"},
		{"health", "string", "only apps with these health statuses (comma-separated)"},
		{"namespace", "string", "only apps whose destination namespace is one of these (comma-separated)"},
		{"cluster", "string", "only apps whose destination cluster is one of these, by name or server URL (comma-separated)"},
		{"selector", "string", "Kubernetes label selector on the apps' labels"},
		{"search", "string", "only apps whose name contains this text (case-insensitive)"},
		{"sort", "string", "name (default), syncedAt or health; prefix - to reverse"},
	}
	cascadeParamDoc = param{"cascade", "boolean", "true: delete the app's resources with it (resources finalizer); false: leave them"}
)

func (s *Server) routeTable() []route {
	const (
		apps     = "/api/v1/applications"
		app      = apps + "/{name}"
		projects = "/api/v1/projects"
		project  = projects + "/{name}"
		accounts = "/api/v1/accounts"
		account  = accounts + "/{name}"
		repos    = "/api/v1/repositories"
		clusters = "/api/v1/clusters"
		cluster  = clusters + "/{name}"
	)
	var (
		validate = param{"validate", "boolean", "false: skip rendering the app to check its kinds against its Project (default true where the server can render)"}
		upsert   = param{"upsert", "boolean", "true: replace the credentials of the repository if it has some"}
	)
	return []route{
		{method: http.MethodGet, path: "/api/openapi.json", handler: s.getOpenAPI, public: true, summary: "This OpenAPI description", response: "Object"},
		{method: http.MethodGet, path: "/api/v1/version", handler: s.getVersion, public: true, summary: "The server's version", response: "Version"},
		{method: http.MethodGet, path: "/api/v1/session", handler: s.getSession, summary: "Who the caller is", response: "Session"},
		{method: http.MethodPost, path: "/api/v1/session", public: true, summary: "Log in with a local account's password; the session token comes back in the body and as the soll.token cookie (served beside the API)", request: "LoginRequest", response: "LoginResponse"},
		{method: http.MethodDelete, path: "/api/v1/session", summary: "Log out: revoke the session token presented (served beside the API)", status: http.StatusNoContent},
		{method: http.MethodGet, path: "/auth/login", public: true, summary: "Start an SSO login: redirects to the OIDC provider (served beside the API, when SSO is configured)", query: []param{{"return_url", "string", "where to go afterwards: a path on soll, or http://localhost:<port>/... for the CLI"}}, status: http.StatusFound},
		{method: http.MethodGet, path: "/auth/callback", public: true, summary: "The OIDC provider's redirect back: issues a session and redirects to return_url (served beside the API)", status: http.StatusFound},
		{method: http.MethodPost, path: "/api/webhook", public: true, summary: "Git push webhooks (GitHub, GitLab, Bitbucket, Gitea, Forgejo, generic), checked with their shared secrets: refreshes the apps of the pushed repository (served beside the API)", request: "Object", response: "WebhookResult"},
		{method: http.MethodGet, path: "/api/v1/settings", handler: s.getSettings, summary: "Non-secret settings", response: "Settings"},

		{method: http.MethodGet, path: clusters, handler: s.listClusters, summary: "Deployment targets: the cluster soll runs in (in-cluster) and the registered ones, without credentials", response: "ClusterList"},
		{method: http.MethodPost, path: clusters, handler: s.createCluster, audit: auditCreateCluster, summary: "Register a cluster: a Cluster and, for a token or client certificate, the Secret cluster-<name> that holds it; a name or server registered already is refused", request: "ClusterRequest", response: "Cluster", status: http.StatusCreated},
		{method: http.MethodGet, path: cluster, handler: s.getCluster, summary: "Get a cluster (in-cluster is the one soll runs in), without credentials", response: "Cluster"},
		{method: http.MethodPatch, path: cluster, handler: s.patchCluster, audit: auditUpdateCluster, summary: "Change a cluster's server, CA, TLS server name, proxy, namespaces, cluster-resources right or labels; absent fields stay", request: "ClusterPatch", response: "Cluster"},
		{method: http.MethodPut, path: cluster + "/credentials", handler: s.setClusterCredentials, audit: auditSetClusterCredentials, summary: "Replace a cluster's credentials (token, client certificate or exec plugin; the kind may change)", request: "ClusterCredentials", response: "Cluster"},
		{method: http.MethodDelete, path: cluster, handler: s.deleteCluster, audit: auditDeleteCluster, summary: "Delete a cluster and the Secret of its credentials; Applications deploying there stay, and the answer counts them", response: "ClusterDeleted"},

		{method: http.MethodGet, path: repos, handler: s.listRepositories, summary: "Repository credentials, without secret values", response: "RepositoryList"},
		{method: http.MethodPost, path: repos, handler: s.createRepository, audit: auditCreateRepository, summary: "Save a repository's credentials (a Secret labelled soll.dev/secret-type)", query: []param{upsert}, request: "RepositoryRequest", response: "Repository", status: http.StatusCreated},
		{method: http.MethodDelete, path: repos + "/{name}", handler: s.deleteRepository, audit: auditDeleteRepository, summary: "Delete a repository Secret", status: http.StatusNoContent},
		{method: http.MethodPost, path: repos + "/test", handler: s.testRepository, audit: auditTestRepository, summary: "Test a repository's credentials without saving them: resolves HEAD of a Git repository, reads the index.yaml of a Helm repository, logs in to an OCI registry", request: "RepositoryRequest", response: "RepositoryTest"},
		{method: http.MethodPost, path: repos + "/{name}/test", optionalBody: true, handler: s.testSavedRepository, audit: auditTestRepository, summary: "Test the credentials of a repository Secret, as POST /api/v1/repositories/test does", request: "RepositoryTestRequest", response: "RepositoryTest"},

		{method: http.MethodGet, path: apps, handler: s.listApps, summary: "List applications (filtered, sorted, paginated)", query: appQueryParams, response: "ApplicationList"},
		{method: http.MethodPost, path: apps, handler: s.createApp, audit: auditCreateApp, summary: "Create an application named by metadata.name", query: []param{cascadeParamDoc, validate}, request: "Application", response: "Application", status: http.StatusCreated},
		{method: http.MethodGet, path: app, handler: s.getApp, summary: "Get an application", response: "Application"},
		{method: http.MethodPost, path: app, handler: s.createApp, audit: auditCreateApp, summary: "Create an application", query: []param{cascadeParamDoc, validate}, request: "Application", response: "Application", status: http.StatusCreated},
		{method: http.MethodPut, path: app, handler: s.updateApp, audit: auditUpdateApp, summary: "Replace an application's spec, labels and annotations", query: []param{validate}, request: "Application", response: "Application"},
		{method: http.MethodPatch, path: app, handler: s.patchApp, audit: auditPatchApp, summary: "Change an application with a JSON merge patch of spec and metadata labels and annotations", query: []param{validate}, request: "Object", response: "Application"},
		{method: http.MethodDelete, path: app, handler: s.deleteApp, audit: auditDeleteApp, summary: "Delete an application", query: []param{cascadeParamDoc}, status: http.StatusNoContent},
		{method: http.MethodPost, path: app + "/sync", optionalBody: true, handler: s.syncApp, audit: auditSync, summary: "Request a sync", request: "SyncRequest", response: "Application", status: http.StatusAccepted},
		{method: http.MethodPost, path: app + "/rollback", handler: s.rollbackApp, audit: auditRollback, summary: "Request a rollback to a history entry (pins the app there)", request: "RollbackRequest", response: "Application", status: http.StatusAccepted},
		{method: http.MethodPost, path: app + "/terminate", handler: s.terminateApp, audit: auditTerminate, summary: "Terminate the running operation or withdraw a requested one", response: "Application", status: http.StatusAccepted},
		{method: http.MethodPost, path: app + "/refresh", handler: s.refreshApp, audit: auditRefresh, summary: "Request a comparison with Git now", query: []param{{"hard", "boolean", "bypass caches and fetch the repository again"}}, response: "Application", status: http.StatusAccepted},
		{method: http.MethodPost, path: app + "/unpin", handler: s.unpinApp, audit: auditUnpin, summary: "Remove the pin a rollback set", response: "Application"},
		{method: http.MethodGet, path: app + "/diff", handler: s.appDiff, summary: "Resources that differ from Git", response: "Diff"},
		{method: http.MethodGet, path: app + "/resources", handler: s.appResources, summary: "Managed resources and their status", response: "ResourceList"},
		{method: http.MethodGet, path: app + "/tree", handler: s.appTree, summary: "Managed resources and their children (ReplicaSets, Jobs, Pods)", response: "Tree"},
		{method: http.MethodGet, path: app + "/live", handler: s.appLive, summary: "One live object of the app's resource tree, managedFields dropped, Secret data and values decrypted from SOPS files masked", query: liveParams, response: "Object"},
		{method: http.MethodGet, path: app + "/events", handler: s.appEvents, summary: "Kubernetes Events of the app and its objects, newest first", response: "EventList"},
		{method: http.MethodGet, path: app + "/history", handler: s.appHistory, summary: "Sync history", response: "HistoryList"},
		{method: http.MethodGet, path: app + "/manifests", handler: s.appManifests, summary: "The rendered desired objects, Secret data redacted", query: []param{{"revision", "string", "render this revision instead of the target; repeat once per source for multi-source apps"}}, response: "Manifests"},

		{method: http.MethodGet, path: "/api/v1/stream/applications", handler: s.streamApps, stream: true, query: []param{{"names", "string", "follow only these applications (comma-separated, at most 1000)"}}, summary: "Server-sent events of application changes", response: "EventStream"},
		{method: http.MethodGet, path: "/api/v1/stream/applications/{name}", handler: s.streamApps, stream: true, summary: "Server-sent events of one application's changes", response: "EventStream"},

		{method: http.MethodGet, path: projects, handler: s.listProjects, summary: "List projects", response: "ProjectList"},
		{method: http.MethodPost, path: projects, handler: s.createProject, audit: auditCreateProject, summary: "Create a project named by metadata.name", request: "Project", response: "Project", status: http.StatusCreated},
		{method: http.MethodGet, path: project, handler: s.getProject, summary: "Get a project", response: "Project"},
		{method: http.MethodPost, path: project, handler: s.createProject, audit: auditCreateProject, summary: "Create a project", request: "Project", response: "Project", status: http.StatusCreated},
		{method: http.MethodPut, path: project, handler: s.updateProject, audit: auditUpdateProject, summary: "Replace a project's spec, labels and annotations", request: "Project", response: "Project"},
		{method: http.MethodPatch, path: project, handler: s.patchProject, audit: auditPatchProject, summary: "Change a project with a JSON merge patch of spec and metadata labels and annotations", request: "Object", response: "Project"},
		{method: http.MethodDelete, path: project, handler: s.deleteProject, audit: auditDeleteProject, summary: "Delete a project", status: http.StatusNoContent},
		{method: http.MethodPost, path: project + "/roles/{role}/tokens", optionalBody: true, handler: s.createProjectToken, audit: auditCreateProjectToken, summary: "Issue an API token for a project role; the token is in this answer only", request: "TokenRequest", response: "Token", status: http.StatusCreated},
		{method: http.MethodDelete, path: project + "/roles/{role}/tokens/{id}", handler: s.deleteProjectToken, audit: auditDeleteProjectToken, summary: "Revoke a project role's token", status: http.StatusNoContent},

		{method: http.MethodGet, path: accounts, handler: s.listAccounts, summary: "Local accounts the caller may get (their own always)", response: "AccountList"},
		{method: http.MethodPost, path: accounts, handler: s.createAccount, audit: auditCreateAccount, summary: "Create a local account", request: "AccountRequest", response: "Account", status: http.StatusCreated},
		{method: http.MethodGet, path: account, handler: s.getAccount, summary: "Get a local account (never its password or token values)", response: "Account"},
		{method: http.MethodPatch, path: account, handler: s.patchAccount, audit: auditUpdateAccount, summary: "Enable or disable a local account, or replace its capabilities (login, apiKey)", request: "AccountPatch", response: "Account"},
		{method: http.MethodDelete, path: account, handler: s.deleteAccount, audit: auditDeleteAccount, summary: "Delete a local account and its tokens", status: http.StatusNoContent},
		{method: http.MethodPut, path: account + "/password", handler: s.setPassword, audit: auditSetPassword, summary: "Change a password: your own with the current one, another account's with the update right", request: "PasswordChange", status: http.StatusNoContent},
		{method: http.MethodPost, path: account + "/tokens", optionalBody: true, handler: s.createAccountToken, audit: auditCreateAccountToken, summary: "Issue an API token for an account with the apiKey capability; the token is in this answer only", request: "TokenRequest", response: "Token", status: http.StatusCreated},
		{method: http.MethodDelete, path: account + "/tokens/{id}", handler: s.deleteAccountToken, audit: auditDeleteAccountToken, summary: "Revoke an account's API token", status: http.StatusNoContent},

		{method: http.MethodGet, path: "/api/v1/audit", handler: s.listAudit, summary: "The audit log: changes made through the API, logins, and the controller's operations, newest first", query: auditQueryParams, response: "AuditList"},
	}
}
