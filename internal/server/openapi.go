package server

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

var pathParam = regexp.MustCompile(`\{([a-zA-Z]+)\}`)

// pathParamDocs describe the path parameters.
var pathParamDocs = map[string]string{
	"name": "the name of the application, project, account, cluster or repository Secret",
	"role": "a role of the project's spec.roles",
	"id":   "the token's id",
}

type obj = map[string]any

func ref(schema string) obj { return obj{"$ref": "#/components/schemas/" + schema} }

func object(doc string, props obj) obj {
	o := obj{"type": "object", "description": doc}
	if props != nil {
		o["properties"] = props
	}
	return o
}

func str(doc string) obj { return obj{"type": "string", "description": doc} }

func integer(doc string) obj { return obj{"type": "integer", "description": doc} }

func dateTime(doc string) obj {
	return obj{"type": "string", "format": "date-time", "description": doc}
}

func listOf(doc, item string) obj {
	return object(doc, obj{"items": obj{"type": "array", "items": ref(item)}})
}

// schemas are the OpenAPI components; Kubernetes objects are described
// by their CRDs (soll.dev/v1alpha1), not repeated here.
var schemas = obj{
	"Object": obj{"type": "object", "additionalProperties": true},
	"Error": object("Every error response", obj{
		"code":    str("NotFound, Invalid, Unauthorized, Forbidden, Conflict, AlreadyExists, TooLarge, MethodNotAllowed, RenderFailed, Timeout, NotImplemented or Internal"),
		"message": str("What went wrong"),
		"field":   str("The offending field of the request, when one is to blame (spec.destination.namespace)"),
	}),
	"Application": object("An Application as defined by the CustomResourceDefinition applications.soll.dev, version v1alpha1", obj{
		"apiVersion": str("soll.dev/v1alpha1"), "kind": str("Application"),
		"metadata": ref("Object"), "spec": ref("Object"), "operation": ref("Object"), "status": ref("Object"),
	}),
	"ApplicationList": object("One page of applications", obj{
		"items":    obj{"type": "array", "items": ref("Application")},
		"continue": str("Token for the next page; absent on the last page"),
		"previous": str("Token for the page before this one (pass it as continue); absent on the first page"),
		"total":    obj{"type": "integer", "description": "Apps matching the filters that the caller may see"},
		"counts": object("Apps by status: sync counts every filter but syncStatus, health every filter but health", obj{
			"sync":   obj{"type": "object", "additionalProperties": obj{"type": "integer"}},
			"health": obj{"type": "object", "additionalProperties": obj{"type": "integer"}},
		}),
	}),
	"Project": object("A Project as defined by the CustomResourceDefinition projects.soll.dev, version v1alpha1", obj{
		"apiVersion": str("soll.dev/v1alpha1"), "kind": str("Project"),
		"metadata": ref("Object"), "spec": ref("Object"), "status": ref("Object"),
	}),
	"ProjectList": object("Projects the caller may get", obj{
		"items": obj{"type": "array", "items": ref("Project")}, "total": obj{"type": "integer"},
	}),
	"SyncRequest": object("A sync request; every field is optional", obj{
		"revision":    str("Sync a single-source app to this revision (needs the override right)"),
		"revisions":   obj{"type": "array", "items": obj{"type": "string"}, "description": "One revision per source of a multi-source app (needs the override right)"},
		"prune":       obj{"type": "boolean"},
		"dryRun":      obj{"type": "boolean"},
		"resources":   obj{"type": "array", "items": object("An object to sync", obj{"group": str(""), "kind": str(""), "namespace": str(""), "name": str("")})},
		"syncOptions": ref("Object"),
	}),
	"RollbackRequest": object("A rollback request", obj{
		"id": obj{"type": "integer", "description": "History entry ID"}, "prune": obj{"type": "boolean"}, "dryRun": obj{"type": "boolean"},
	}),
	"Version":  object("Build identity", obj{"version": str(""), "commit": str(""), "date": str(""), "goVersion": str(""), "platform": str(""), "server": str("")}),
	"Session":  object("The caller", obj{"subject": str(""), "groups": obj{"type": "array", "items": obj{"type": "string"}}, "project": str(""), "role": str(""), "tokenID": str("")}),
	"Settings": object("Non-secret settings", obj{"namespace": str(""), "resourceCustomizations": obj{"type": "array", "items": obj{"type": "string"}}, "maxBodyBytes": obj{"type": "integer"}, "listLimit": obj{"type": "integer"}}),
	"Cluster": object("A deployment target, never with a credential's value", obj{
		"name": str(""), "server": str(""), "inCluster": obj{"type": "boolean", "description": "The cluster soll runs in, which has no registration"},
		"labels":           obj{"type": "object", "additionalProperties": obj{"type": "string"}},
		"namespaces":       obj{"type": "array", "items": obj{"type": "string"}, "description": "The only namespaces soll may touch; absent: all"},
		"clusterResources": obj{"type": "boolean", "description": "soll may deploy cluster-scoped objects"},
		"hasCAData":        obj{"type": "boolean", "description": "A CA certificate is set; absent: the system's roots"},
		"tlsServerName":    str(""), "proxyURL": str(""),
		"credentials": str("token, certificate, exec, or missing (the Secret is absent or holds neither)"),
		"execCommand": str("The command of exec credentials"),
		"secretName":  str("The Secret of soll's namespace holding a token or client certificate"),
		"status": object("What soll's controller last observed; absent until it has", obj{
			"reachable": str("True, False or Unknown"), "message": str("Why it is not reachable"),
			"serverVersion": str(""), "lastContact": dateTime("When the API server last answered"),
			"applications": integer("Applications deploying there"), "watchedKinds": integer(""), "watchedObjects": integer(""),
		}),
	}),
	"ClusterList": listOf("The cluster soll runs in, then the registered clusters the caller may get, by name", "Cluster"),
	"ClusterCredentials": object("Exactly one kind of credentials; stored, never returned", obj{
		"token": str("A bearer token"), "certData": str("A client certificate (PEM), with keyData"), "keyData": str("Its key (PEM)"),
		"exec": object("A credential plugin printing an ExecCredential, as in a kubeconfig", obj{
			"command": str("Absolute path or a name looked up in PATH"), "args": obj{"type": "array", "items": obj{"type": "string"}},
			"env":        obj{"type": "array", "items": object("", obj{"name": str(""), "value": str("")})},
			"apiVersion": str("client.authentication.k8s.io/v1 (default) or v1beta1"), "timeoutSeconds": integer("0 to 300; 0 means 30"),
		}),
	}),
	"ClusterRequest": object("A cluster to register", obj{
		"name":   str("The cluster's name (a DNS subdomain, not in-cluster); Applications name it in spec.destination.name"),
		"server": str("https:// URL of the API server; not the in-cluster one, not one registered already"),
		"caData": str("PEM of the CA that signs the API server's certificate; absent: the system's roots"), "tlsServerName": str("Name checked against the server's certificate"),
		"proxyURL":         str("http, https or socks5 proxy"),
		"namespaces":       obj{"type": "array", "items": obj{"type": "string"}, "description": "The only namespaces soll may touch; absent: all"},
		"clusterResources": obj{"type": "boolean", "description": "soll may deploy cluster-scoped objects; default: true without namespaces, false with"},
		"labels":           obj{"type": "object", "additionalProperties": obj{"type": "string"}},
		"credentials":      ref("ClusterCredentials"),
	}),
	"ClusterPatch": object("The change of a cluster; absent fields stay as they are, an empty string clears caData, tlsServerName or proxyURL, an empty list the namespaces", obj{
		"server": str(""), "caData": str(""), "tlsServerName": str(""), "proxyURL": str(""),
		"namespaces":       obj{"type": "array", "items": obj{"type": "string"}},
		"clusterResources": obj{"type": "boolean"},
		"labels":           obj{"type": "object", "additionalProperties": obj{"type": "string"}, "description": "Replace the labels"},
	}),
	"ClusterDeleted": object("A deleted cluster", obj{"name": str(""), "applications": integer("Applications that still name the cluster as their destination; they were left alone")}),
	"Repository": object("A repository Secret without its secret values", obj{
		"name": str(""), "type": str("repository or repo-creds"), "url": str(""), "username": str(""),
		"hasPassword": obj{"type": "boolean"}, "hasBearerToken": obj{"type": "boolean"}, "hasSSHPrivateKey": obj{"type": "boolean"}, "hasTLSClientCert": obj{"type": "boolean"},
		"project":           str("The Project whose applications may use the credentials; absent: the default Project's, and every Project's when shared"),
		"shared":            obj{"type": "boolean", "description": "The credentials name no Project and serve the applications of every Project"},
		"credentialsSecret": str("The Secret of soll's namespace that holds the credentials in place of this one (its url, project and shared scoping stay here)"),
	}),
	"RepositoryList": listOf("Repository Secrets", "Repository"),
	"ResourceList":   listOf("Managed resources (status.resources)", "Object"),
	"HistoryList":    listOf("Sync history (status.history)", "Object"),
	"Diff": object("Resources that differ from Git as of the last comparison, with their unified diffs when the server can compute them", obj{
		"sync": ref("Object"), "resources": obj{"type": "array", "items": ref("Object")},
		"diffs": obj{"type": "array", "description": "One per resource, in the same order; absent when the server cannot compare (note says why)", "items": object("The field-level difference of one resource", obj{
			"group": str(""), "kind": str(""), "namespace": str(""), "name": str(""),
			"diff":  str("Unified diff of the live object (---) and of what a sync would make of it (+++), as YAML, Secret values redacted; empty when it no longer differs"),
			"drift": obj{"type": "array", "description": "Each differing field and, when managedFields tell, the field manager that last set it: spec.replicas changed by kubectl-edit", "items": str("")},
		})},
		"note": str(""),
	}),
	"Tree": object("Managed resources and their children", obj{
		"nodes": obj{"type": "array", "items": object("An object", obj{
			"group": str(""), "version": str(""), "kind": str(""), "namespace": str(""), "name": str(""), "uid": str(""),
			"managed": obj{"type": "boolean"}, "status": str(""), "health": ref("Object"),
			"parentRefs": obj{"type": "array", "items": ref("Object")}, "info": obj{"type": "object", "additionalProperties": obj{"type": "string"}},
		})},
		"truncated": obj{"type": "boolean"},
	}),
	"EventList": listOf("Kubernetes Events", "Object"),
	"Manifests": object("The objects a sync would apply, rendered with the controller's pipeline; Secret values are masked", obj{
		"revisions": obj{"type": "array", "items": obj{"type": "string"}, "description": "The rendered revision of each source"},
		"items":     obj{"type": "array", "items": ref("Object")},
	}),
	"LoginRequest":  object("A local account's credentials", obj{"username": str(""), "password": str("")}),
	"LoginResponse": object("A session", obj{"token": str("The session token (also set as the soll.token cookie)"), "subject": str(""), "expiresAt": dateTime("")}),
	"WebhookResult": object("What a push webhook did", obj{"matched": integer("Applications asked to refresh")}),
	"RepositoryRequest": object("A repository URL and exactly one kind of credentials: username and password, bearerToken or tlsClientCert with tlsClientKey for https and oci, sshPrivateKey for ssh. "+
		"Secret values are stored, never returned", obj{
		"name": str("The Secret's name; absent: derived from type and url"), "type": str("repository (default) or repo-creds (a template for every repository under url)"),
		"url":      str("https://..., http://..., ssh://..., user@host:path or oci://...; never with credentials in it"),
		"project":  str("The one Project whose applications may use the credentials (it must exist); absent: the default Project's applications, and every Project's with shared"),
		"shared":   obj{"type": "boolean", "description": "Without project: the applications of every Project may use the credentials"},
		"username": str(""), "password": str(""), "bearerToken": str(""),
		"sshPrivateKey": str("PEM or OpenSSH format"), "sshPassphrase": str("Decrypts sshPrivateKey"), "sshKnownHosts": str("known_hosts lines for the host, added to those of the ConfigMap soll-ssh-known-hosts"),
		"tlsClientCert": str("PEM"), "tlsClientKey": str("PEM"), "caCert": str("PEM certificates trusted besides the system's"),
	}),
	"RepositoryTestRequest": object("Optional: for a credential template, the repository to test", obj{"url": str("")}),
	"RepositoryTest": object("The outcome of a connection test: HEAD of a Git repository resolved, the index.yaml of a Helm repository read, or an OCI registry logged in to, with the credentials", obj{
		"ok": obj{"type": "boolean"}, "kind": str("What was found, when ok: git, helm or oci"), "revision": str("The commit of HEAD, when ok and kind is git"),
		"message": str("What was found, or why it failed and what to do; never a secret"),
	}),
	"Account": object("A local account; never its password or tokens, only their ids", obj{
		"name": str(""), "enabled": obj{"type": "boolean"}, "capabilities": obj{"type": "array", "items": str("login or apiKey")},
		"hasPassword": obj{"type": "boolean"}, "passwordChangedAt": dateTime("Sessions issued before are refused"),
		"tokens": obj{"type": "array", "items": object("An API token's record", obj{"id": str(""), "issuedAt": dateTime(""), "expiresAt": dateTime("")})},
	}),
	"AccountList": listOf("Accounts the caller may get", "Account"),
	"AccountRequest": object("A new local account", obj{
		"name": str("Lower-case letters, digits and -"), "capabilities": obj{"type": "array", "items": str("login or apiKey")},
		"password": str("Optional; at least 8 characters"), "enabled": obj{"type": "boolean", "description": "Default true"},
	}),
	"AccountPatch": object("The change of an account; absent fields stay as they are", obj{
		"enabled":      obj{"type": "boolean"},
		"capabilities": obj{"type": "array", "description": "Replace the capabilities: login (password logins and their sessions), apiKey (API tokens); an empty list removes both", "items": str("login or apiKey")},
	}),
	"PasswordChange": object("A new password", obj{"currentPassword": str("Required for your own password"), "newPassword": str("At least 8 characters")}),
	"TokenRequest": object("A token to issue; every field is optional", obj{
		"expiresIn": str("Lifetime: a duration such as 24h or 90m, or a number of seconds; absent means no expiry"),
		"id":        str("The token's id (at most 128 printable ASCII characters); absent means a random one"),
	}),
	"Token": object("An issued token: shown in this answer only, never again", obj{
		"id": str(""), "token": str("The bearer token"), "issuedAt": dateTime(""), "expiresAt": dateTime("Absent: no expiry"),
	}),
	"AuditEntry": object("One record of the audit log", obj{
		"id": str(""), "time": dateTime(""), "source": str("api or controller"),
		"user":    str("Who acted: an account, an SSO user, proj:<project>:<role>, the name a failed login claimed, or soll-controller"),
		"tokenID": str("The API token used, when one was"),
		"action":  str("Create, Update, Patch, Delete, Sync, Rollback, Terminate, Refresh, Unpin, CreateToken, DeleteToken, SetPassword, SetCredentials, Test, Login, Logout; OperationStarted, OperationCompleted ... from the controller"),
		"method":  str(""), "path": str(""),
		"resource": str("applications, projects, accounts, repositories or clusters"), "object": str("The app, project, account, repository URL or cluster server URL"),
		"project": str("The project of the app or project"), "status": integer("The answer's HTTP status"),
		"result":  str("accepted, created, done, connected, failed, refused (<code>) or failed (<code>)"),
		"message": str("The entry as a sentence: admin synced app guestbook: accepted"), "count": integer("Times the controller reported the same Event"),
	}),
	"AuditList": object("One page of the audit log, newest first", obj{
		"items": obj{"type": "array", "items": ref("AuditEntry")}, "continue": str("Token for the next page; absent on the last page"),
	}),
	"EventStream": str("Server-sent events: event: ADDED|MODIFIED|DELETED, id: resourceVersion, data: the Application as JSON; " +
		"comment lines (heartbeats) every 15 seconds"),
}

// apiTags group the operations, in this order, in the description and in
// the reference generated from it.
var apiTags = []obj{
	{"name": "applications", "description": "Applications: read and write them, request operations, read their details, follow them live"},
	{"name": "projects", "description": "Projects and the API tokens of their roles"},
	{"name": "repositories", "description": "Repository credentials and connection tests"},
	{"name": "clusters", "description": "Registered clusters and their credentials"},
	{"name": "accounts", "description": "Local accounts and their API tokens"},
	{"name": "audit", "description": "The audit log"},
	{"name": "session", "description": "Login, logout and SSO"},
	{"name": "webhooks", "description": "Git push webhooks"},
	{"name": "server", "description": "The server: version, settings, clusters and this description"},
}

// tagOf returns the tag of an operation on path.
func tagOf(path string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/api/v1/"), "/")
	switch {
	case strings.HasPrefix(path, "/auth/") || first == "session":
		return "session"
	case path == "/api/webhook":
		return "webhooks"
	case first == "stream":
		return "applications"
	case first == "applications" || first == "projects" || first == "repositories" || first == "clusters" || first == "accounts" || first == "audit":
		return first
	}
	return "server"
}

// OpenAPI returns the OpenAPI description of the API, as GET
// /api/openapi.json serves it but with the version "v1"; the reference in
// the docs is generated from it.
func OpenAPI() ([]byte, error) {
	return openAPI((&Server{}).routeTable(), "v1")
}

// openAPI builds the OpenAPI 3 description of routes.
func openAPI(routes []route, version string) ([]byte, error) {
	paths := obj{}
	for _, rt := range routes {
		item, _ := paths[rt.path].(obj)
		if item == nil {
			item = obj{}
			paths[rt.path] = item
		}
		var params []obj
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, obj{"name": m[1], "in": "path", "required": true, "description": pathParamDocs[m[1]], "schema": obj{"type": "string"}})
		}
		for _, q := range rt.query {
			params = append(params, obj{"name": q.name, "in": "query", "description": q.doc, "schema": obj{"type": q.typ}})
		}
		status := rt.status
		if status == 0 {
			status = http.StatusOK
		}
		errResp := obj{"description": "error", "content": obj{"application/json": obj{"schema": ref("Error")}}}
		okResp := obj{"description": http.StatusText(status)}
		switch {
		case status >= 400:
			okResp["content"] = obj{"application/json": obj{"schema": ref("Error")}}
		case rt.stream:
			okResp["content"] = obj{"text/event-stream": obj{"schema": ref(rt.response)}}
		case rt.response != "":
			okResp["content"] = obj{"application/json": obj{"schema": ref(rt.response)}}
		}
		op := obj{
			"summary":     rt.summary,
			"operationId": operationID(rt),
			"tags":        []string{tagOf(rt.path)},
			"responses":   obj{strconv.Itoa(status): okResp, "default": errResp},
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.request != "" {
			ct := "application/json"
			if rt.method == http.MethodPatch {
				ct = "application/merge-patch+json"
			}
			op["requestBody"] = obj{"required": !rt.optionalBody,
				"content": obj{ct: obj{"schema": ref(rt.request)}}}
		}
		if rt.public {
			op["security"] = []obj{}
		}
		item[strings.ToLower(rt.method)] = op
	}
	doc := obj{
		"openapi": "3.0.3",
		"info": obj{"title": "soll API", "version": version,
			"description": "soll's HTTP API. Every endpoint needs a bearer token (or the session cookie) but the version, this description, login, SSO and webhooks. Errors are JSON objects with code, message and field."},
		"tags":  apiTags,
		"paths": paths,
		"components": obj{
			"schemas":         schemas,
			"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer"}},
		},
		"security": []obj{{"bearer": []string{}}},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// operationID names an operation after its method and path:
// "post /api/v1/applications/{name}/sync" becomes postApplicationsNameSync.
func operationID(rt route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.method))
	for _, part := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(rt.path, "/api/v1"), "/api"), "/") {
		part = strings.Trim(part, "{}")
		part = strings.ReplaceAll(part, ".", "")
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func (s *Server) getOpenAPI(w http.ResponseWriter, _ *http.Request, _ *Principal) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.openapi)
	return nil
}
