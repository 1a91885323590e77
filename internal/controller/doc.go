// Package controller holds soll's reconcilers. The Application reconciler
// orchestrates: it compares each app through the comparison pipeline
// (appstate: source, render, diff, health), runs operations with the sync
// engine (sync: phases, waves, hooks and prune), and reports status. It
// runs automated sync once per revision, self-heals drift seen through
// watches on the kinds apps manage, keeps a history of syncs, pins
// rolled-back revisions, and persists every operation's state in the
// Application so a restarted controller resumes it. What it remembers of
// an app between reconciles is one record, removed when the app is gone.
package controller
