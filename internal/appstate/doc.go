// Package appstate computes an Application's state: its desired objects
// and how the cluster differs from them. A Pipeline resolves and checks
// out the app's sources (source), renders them (render), checks the
// result against the app's Project (project), and compares it with the
// live objects through server-side-apply dry runs (diff), assessing
// health on the way (health). It owns the caches of those steps: the
// parsed settings ConfigMap, the SOPS keys of each Project, the tool of
// each path in a snapshot, renders and dry runs.
//
// The controller compares apps with Compare and orchestrates the rest
// (queue, operations, status); the API server renders (Render) and diffs
// (Diff) them with the same pipeline. Every error about the Application is
// an *Error whose Reason names the stage that failed.
package appstate
