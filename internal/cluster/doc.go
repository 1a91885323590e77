// Package cluster turns a registered Cluster (soll.dev/v1alpha1) and the
// Secret it names into the client configuration soll uses to reach that
// cluster's API server.
//
// Validate checks what the Cluster CRD's OpenAPI schema cannot (the
// server URL, the CA's PEM, the proxy, the namespaces, the exec plugin's
// environment); ValidateSecret checks the credentials Secret (labelled
// soll.dev/secret-type: cluster; a bearer token, or a client certificate
// and key that form a pair). Both report
// every problem at once, each naming the Cluster and the field, and never
// quote a credential. RESTConfig calls both and builds a *rest.Config.
//
// A Cluster with spec.exec gets its bearer token from an exec credential
// plugin run by this package rather than by client-go: client-go's plugin
// runner hands the plugin the whole environment of soll's controller,
// while here the plugin sees only its spec's variables, PATH and
// KUBERNETES_EXEC_INFO. The token is cached until its expiry (less 30
// seconds) or until the API server answers 401; concurrent requests share
// one run of the plugin.
package cluster
