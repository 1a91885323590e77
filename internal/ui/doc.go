// Package ui is soll's web UI: server-rendered HTML pages (html/template)
// with soll's own small stylesheet and script, embedded in the binary. It
// is a client of the API: every page reads through the API handler, called
// in the process with the user's session, so that the API's filters,
// pagination, RBAC and audit log apply to the UI unchanged. Pages are
// readable without JavaScript; the script adds live updates from the
// API's event stream and submits the action forms without leaving the
// page. An app's resource tree is SVG laid out here, on the server
// (tree.go); its script (static/tree.js) swaps in a fresh copy of the
// section, rendered by the same template, when the app changes.
//
// Security: the session is the API's cookie (soll.token); every form that
// changes something carries a token tied to the session (an HMAC under
// the server's key, auth.Manager.FormToken) and is refused without it;
// every response carries a strict Content-Security-Policy (no inline
// script or style), frame-ancestors 'none', nosniff and a Referrer-Policy.
package ui
