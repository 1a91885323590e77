// Package apiclient is a typed Go client of soll's HTTP API (/api/v1):
// the session, the server's version and settings, Applications and their
// operations and details, Projects, repositories, clusters, and the
// server-sent event streams of application changes.
//
// It speaks the server's own JSON shapes (the api/v1alpha1 types and the
// wire types of internal/apitypes, which the server encodes), so a change
// on one side shows on the other at compile time, without importing the
// server: a client builds from a few hundred packages, and a test keeps it
// so. Every error the server answers becomes an *Error that carries the
// HTTP status and the server's code, message and field; a server that
// cannot be reached is an *UnreachableError that names its URL.
package apiclient
