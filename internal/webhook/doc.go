// Package webhook turns Git push notifications into Application refreshes.
//
// Without webhooks soll notices a new commit when it next lists a
// repository's refs, every few minutes. A Git server that calls soll's
// /api/webhook endpoint on every push makes that immediate: the Handler
// authenticates the request with the provider's shared secret, reads the
// push (which repository, which ref, which commit) and hands a Push to a
// callback. The callback decides what to refresh; RefreshApps is the usual
// one, annotating every Application with a source the push Matches.
//
// The Handler understands GitHub, GitLab, Bitbucket Cloud, Bitbucket Server
// (Data Center), Gitea and Forgejo, told apart by their headers, and a small
// generic JSON form for everything else:
//
//	POST /api/webhook
//	Content-Type: application/json
//	X-Soll-Event: push
//	X-Soll-Signature: sha256=<hex HMAC-SHA256 of the body with the generic secret>
//
//	{"repository": "https://git.example.com/org/repo.git",
//	 "ref": "refs/heads/main", "after": "<commit SHA>",
//	 "defaultBranch": "main"}
//
// It fails closed: a provider whose secret is not configured is refused
// unless Config.AllowUnsigned is set, and a provider whose secret is
// configured never accepts a request without a valid signature or token.
// Requests are small and bounded: POST only, a capped body, a deadline for
// reading it and for the callback.
//
// A push only asks for a refresh, it is never trusted for content: the
// refreshed Application still resolves the revision from the repository
// itself. A forged push can therefore cost a ref listing but cannot change
// what is deployed.
package webhook
