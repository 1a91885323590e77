// Package auth authenticates the users of the soll API and web UI.
//
// A Manager keeps local accounts, their API tokens and the server's signing
// key in Secrets in soll's namespace, and turns credentials into a
// Principal: a password into a session token (Login), an SSO login into a
// session token (OIDC), and any presented token back into the Principal it
// was issued for (Authenticate). Every token soll issues is an HS256 JWT
// signed with the key in the soll-secret Secret; it stays valid only while
// the record that allows it still exists: the account is enabled, the
// session is newer than the last password change and was not logged out,
// the API token is listed on the account, the Project role token is listed
// on the Project. A presented token that fails any check is an error, never
// an anonymous request.
//
// Authorization (what a Principal may do) is not this package's concern.
package auth
