// Package server serves soll's HTTP API under /api/v1: Applications and
// Projects (read, write and operations such as sync and rollback), live
// updates as server-sent events, clusters, settings, the session and an
// OpenAPI description of it all at /api/openapi.json.
//
// The server keeps no state of its own. It reads Applications from a
// controller-runtime cache (lists and event streams never reach the API
// server), reads single objects it is about to change from the API server,
// and writes through the Kubernetes API, so the API server's validation is
// the one that answers for invalid specs. Operations are requests: the
// server sets an Application's operation field and the controller runs it.
//
// Who the caller is and what they may do are decided by an Authenticator
// and an Authorizer that the server is given; every list is filtered by
// the Authorizer before it is paginated.
package server
