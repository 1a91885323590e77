package server

import "net/http"

// route is one endpoint and its documentation; the OpenAPI description
// is generated from the route table, so the two cannot drift apart.
type route struct {
	method, path string
	handler      handlerFunc
	// public routes need no credentials.
	public bool
	// stream routes are server-sent events: no request timeout.
	stream bool

	summary  string
	query    []param
	request  string // component schema of the body; "" for none
	response string // component schema of the success body; "" for none
	status   int    // success status; zero means 200
}

type param struct{ name, typ, doc string }

var (
	appQueryParams = []param{
		{"limit", "integer", "page size, 1 to 1000 (default 100)"},
		{"continue", "string", "token from the previous page"},
		{"project", "string", "only apps of these projects (comma-separated)"},
		{"syncStatus", "string", "only apps with these sync statuses: Synced, OutOfSync, Unknown (comma-separated)"},
		{"health", "string", "only apps with these health statuses (comma-separated)"},
		{"namespace", "string", "only apps whose destination namespace is one of these (comma-separated)"},
		{"selector", "string", "Kubernetes label selector on the apps' labels"},
		{"search", "string", "only apps whose name contains this text (case-insensitive)"},
		{"sort", "string", "name (default), syncedAt or health; prefix - to reverse"},
	}
	cascadeParamDoc = param{"cascade", "boolean", "true: delete the app's resources with it (resources finalizer); false: leave them"}
)

func (s *Server) routeTable() []route {
	const (
		apps = "/api/v1/applications"
		app  = apps + "/{name}"
	)
	return []route{
		{method: http.MethodGet, path: "/api/openapi.json", handler: s.getOpenAPI, public: true, summary: "This OpenAPI description", response: "Object"},
		{method: http.MethodGet, path: "/api/v1/version", handler: s.getVersion, public: true, summary: "The server's version", response: "Version"},
		{method: http.MethodGet, path: "/api/v1/session", handler: s.getSession, summary: "Who the caller is", response: "Session"},
		{method: http.MethodGet, path: "/api/v1/settings", handler: s.getSettings, summary: "Non-secret settings", response: "Settings"},
		{method: http.MethodGet, path: "/api/v1/clusters", handler: s.listClusters, summary: "Deployment targets", response: "ClusterList"},
		{method: http.MethodGet, path: "/api/v1/repositories", handler: s.listRepositories, summary: "Repository credentials, without secret values", response: "RepositoryList"},

		{method: http.MethodGet, path: apps, handler: s.listApps, summary: "List applications (filtered, sorted, paginated)", query: appQueryParams, response: "ApplicationList"},
		{method: http.MethodPost, path: apps, handler: s.createApp, summary: "Create an application named by metadata.name", query: []param{cascadeParamDoc}, request: "Application", response: "Application", status: http.StatusCreated},
		{method: http.MethodGet, path: app, handler: s.getApp, summary: "Get an application", response: "Application"},
		{method: http.MethodPost, path: app, handler: s.createApp, summary: "Create an application", query: []param{cascadeParamDoc}, request: "Application", response: "Application", status: http.StatusCreated},
		{method: http.MethodPut, path: app, handler: s.updateApp, summary: "Replace an application's spec, labels and annotations", request: "Application", response: "Application"},
		{method: http.MethodPatch, path: app, handler: s.patchApp, summary: "Change an application with a JSON merge patch of spec and metadata labels and annotations", request: "Object", response: "Application"},
		{method: http.MethodDelete, path: app, handler: s.deleteApp, summary: "Delete an application", query: []param{cascadeParamDoc}, status: http.StatusNoContent},
		{method: http.MethodPost, path: app + "/sync", handler: s.syncApp, summary: "Request a sync", request: "SyncRequest", response: "Application", status: http.StatusAccepted},
		{method: http.MethodPost, path: app + "/rollback", handler: s.rollbackApp, summary: "Request a rollback to a history entry (pins the app there)", request: "RollbackRequest", response: "Application", status: http.StatusAccepted},
		{method: http.MethodPost, path: app + "/terminate", handler: s.terminateApp, summary: "Terminate the running operation or withdraw a requested one", response: "Application", status: http.StatusAccepted},
		{method: http.MethodPost, path: app + "/refresh", handler: s.refreshApp, summary: "Request a comparison with Git now", query: []param{{"hard", "boolean", "bypass caches and fetch the repository again"}}, response: "Application", status: http.StatusAccepted},
		{method: http.MethodPost, path: app + "/unpin", handler: s.unpinApp, summary: "Remove the pin a rollback set", response: "Application"},
		{method: http.MethodGet, path: app + "/diff", handler: s.appDiff, summary: "Resources that differ from Git", response: "Diff"},
		{method: http.MethodGet, path: app + "/resources", handler: s.appResources, summary: "Managed resources and their status", response: "ResourceList"},
		{method: http.MethodGet, path: app + "/tree", handler: s.appTree, summary: "Managed resources and their children (ReplicaSets, Jobs, Pods)", response: "Tree"},
		{method: http.MethodGet, path: app + "/events", handler: s.appEvents, summary: "Kubernetes Events of the app and its objects, newest first", response: "EventList"},
		{method: http.MethodGet, path: app + "/history", handler: s.appHistory, summary: "Sync history", response: "HistoryList"},
		{method: http.MethodGet, path: app + "/manifests", handler: s.appManifests, summary: "Rendered manifests: not available from the API server (501)", status: http.StatusNotImplemented},

		{method: http.MethodGet, path: "/api/v1/stream/applications", handler: s.streamApps, stream: true, summary: "Server-sent events of application changes", response: "EventStream"},
		{method: http.MethodGet, path: "/api/v1/stream/applications/{name}", handler: s.streamApps, stream: true, summary: "Server-sent events of one application's changes", response: "EventStream"},

		{method: http.MethodGet, path: "/api/v1/projects", handler: s.listProjects, summary: "List projects", response: "ProjectList"},
		{method: http.MethodPost, path: "/api/v1/projects", handler: s.createProject, summary: "Create a project named by metadata.name", request: "Project", response: "Project", status: http.StatusCreated},
		{method: http.MethodGet, path: "/api/v1/projects/{name}", handler: s.getProject, summary: "Get a project", response: "Project"},
		{method: http.MethodPost, path: "/api/v1/projects/{name}", handler: s.createProject, summary: "Create a project", request: "Project", response: "Project", status: http.StatusCreated},
		{method: http.MethodPut, path: "/api/v1/projects/{name}", handler: s.updateProject, summary: "Replace a project's spec, labels and annotations", request: "Project", response: "Project"},
		{method: http.MethodDelete, path: "/api/v1/projects/{name}", handler: s.deleteProject, summary: "Delete a project", status: http.StatusNoContent},
	}
}
