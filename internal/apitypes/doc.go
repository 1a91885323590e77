// Package apitypes holds the wire types of soll's HTTP API (/api/v1): the
// bodies of its requests and answers besides the Kubernetes objects of
// api/v1alpha1, and the limits a client needs to know (MaxLimit).
//
// The server (internal/server) encodes and decodes them, its OpenAPI
// description documents them, and Go clients (internal/apiclient, the CLI)
// use them without depending on the server: the package imports only the
// standard library, api/v1alpha1, internal/version and Kubernetes'
// apimachinery types, so that a client is a few hundred packages, not the
// render pipeline's thousands.
package apitypes
