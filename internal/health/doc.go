// Package health assesses the health of live Kubernetes objects.
//
// Health answers "is this object doing what it was created for?" with one of
// a few statuses (Healthy, Progressing, Suspended, Degraded, Missing,
// Unknown) and a message for people. An application's health is the Worst of
// its objects' health.
//
// A Checker picks the first assessment that applies to an object: a custom
// check written in Lua for its group and kind, then a built-in check for the
// well-known kinds (Deployment, Pod, Job, ...) and the custom resources of
// popular projects (Flux, cert-manager, Argo Rollouts, Crossplane, ...: one
// file each, builtin_<project>.go, each written from the project's documented
// status semantics), then a check chosen by the conditions an object carries
// (Crossplane's Synced, whatever the group), then a generic check that
// reads the conventional status fields every well-behaved controller writes
// (status.observedGeneration and the Ready, Reconciling and Stalled
// conditions, as kstatus defines them).
//
// Lua checks use Argo CD's contract, so existing health.lua scripts work
// unchanged: the script reads the object from the global obj and returns a
// table {status = "...", message = "..."}. Scripts run in a sandbox (no os,
// io, require or load, a time limit and an instruction limit) in a fresh Lua
// state for each check, so a Checker can be shared by many goroutines.
//
// The package takes objects and returns results: it never talks to a cluster.
package health
