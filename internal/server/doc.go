// Package server serves soll's HTTP API under /api/v1: Applications and
// Projects (read, write and operations such as sync and rollback, rendered
// manifests), live updates as server-sent events, local accounts and API
// tokens, repository credentials and connection tests, clusters, settings,
// the session, the audit log, and an OpenAPI description of it all at
// /api/openapi.json (which also documents the login, SSO and webhook
// endpoints that internal/serve mounts beside the API).
//
// Every change, and every login and logout, is audited: a line on the
// audit logger, an Event on the Application or Project, and an entry in a
// bounded ring in the ConfigMap soll-audit.
//
// The server keeps no state of its own besides that ring. It reads
// Applications from a controller-runtime cache (lists and event streams
// never reach the API server), reads single objects it is about to change
// from the API server, and writes through the Kubernetes API, so the API
// server's validation is the one that answers for invalid specs. Operations are requests: the
// server sets an Application's operation field and the controller runs it.
//
// Who the caller is and what they may do are decided by an Authenticator
// and an Authorizer that the server is given; every list is filtered by
// the Authorizer before it is paginated.
package server
