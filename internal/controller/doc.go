// Package controller holds soll's reconcilers. The Application reconciler
// wires the engine packages together: source (resolve and check out the
// revision, shared per repository), render, diff (server-side-apply dry
// run against live objects), health, and sync (operations with phases,
// waves, hooks and prune). It runs automated sync once per revision,
// self-heals drift seen through watches on the kinds apps manage, keeps a
// history of syncs, pins rolled-back revisions, and persists every
// operation's state in the Application so a restarted controller resumes
// it.
package controller
