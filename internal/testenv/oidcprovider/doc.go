// Package oidcprovider runs an OpenID Connect provider on loopback for
// tests: one client and one user, the authorization code flow with PKCE,
// and an approval page that approves every request at once, so that a
// test's "browser" (an HTTP client with a cookie jar that follows
// redirects) completes a single sign-on without a person. Browse is that
// browser for `soll login --sso`.
//
// It is built on zitadel/oidc's op package with an in-memory storage. Its
// knobs make it misbehave in the ways a relying party must refuse: another
// nonce, rewritten and re-signed ID token claims, another issuer, short
// token lifetimes.
package oidcprovider
