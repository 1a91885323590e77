package server

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

var pathParam = regexp.MustCompile(`\{([a-zA-Z]+)\}`)

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

func listOf(doc, item string) obj {
	return object(doc, obj{"items": obj{"type": "array", "items": ref(item)}})
}

// schemas are the OpenAPI components; Kubernetes objects are described
// by their CRDs (soll.dev/v1alpha1), not repeated here.
var schemas = obj{
	"Object": obj{"type": "object", "additionalProperties": true},
	"Error": object("Every error response", obj{
		"code":    str("NotFound, Invalid, Unauthorized, Forbidden, Conflict, AlreadyExists, TooLarge, MethodNotAllowed, Timeout, NotImplemented or Internal"),
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
		"total":    obj{"type": "integer", "description": "Apps matching the filters that the caller may see"},
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
	"Version":     object("Build identity", obj{"version": str(""), "commit": str(""), "goVersion": str(""), "platform": str(""), "server": str("")}),
	"Session":     object("The caller", obj{"subject": str(""), "groups": obj{"type": "array", "items": obj{"type": "string"}}, "project": str(""), "role": str(""), "tokenID": str("")}),
	"Settings":    object("Non-secret settings", obj{"namespace": str(""), "resourceCustomizations": obj{"type": "array", "items": obj{"type": "string"}}, "maxBodyBytes": obj{"type": "integer"}, "listLimit": obj{"type": "integer"}}),
	"Cluster":     object("A deployment target", obj{"name": str(""), "server": str("")}),
	"ClusterList": listOf("Clusters", "Cluster"),
	"Repository": object("A repository Secret without its secret values", obj{
		"name": str(""), "type": str("repository or repo-creds"), "url": str(""), "username": str(""),
		"hasPassword": obj{"type": "boolean"}, "hasBearerToken": obj{"type": "boolean"}, "hasSSHPrivateKey": obj{"type": "boolean"}, "hasTLSClientCert": obj{"type": "boolean"},
	}),
	"RepositoryList": listOf("Repository Secrets", "Repository"),
	"ResourceList":   listOf("Managed resources (status.resources)", "Object"),
	"HistoryList":    listOf("Sync history (status.history)", "Object"),
	"Diff": object("Resources that differ from Git as of the last comparison; the field-level diff is not recorded", obj{
		"sync": ref("Object"), "resources": obj{"type": "array", "items": ref("Object")}, "note": str(""),
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
	"EventStream": str("Server-sent events: event: ADDED|MODIFIED|DELETED, id: resourceVersion, data: the Application as JSON; " +
		"comment lines (heartbeats) every 15 seconds"),
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
			params = append(params, obj{"name": m[1], "in": "path", "required": true, "schema": obj{"type": "string"}})
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
			op["requestBody"] = obj{"required": rt.method != http.MethodPost || !strings.HasSuffix(rt.path, "/sync"),
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
			"description": "soll's HTTP API. Every endpoint but the version and this description needs a bearer token. Errors are JSON objects with code, message and field."},
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
