// Package diff compares the desired objects rendered from Git with the live
// objects in a cluster.
//
// The comparison is a server-side-apply dry run: the API server computes
// what the live object would become if soll applied the desired one,
// defaults, mutating webhooks and other managers' fields included, and that
// prediction is compared with the live object after both are normalized
// (status and server-maintained metadata removed). So defaults and webhooks
// never show as drift, and fields owned by other managers stay theirs.
//
// Every differing field is attributed to the field manager that last set
// it (from managedFields), Secret values are redacted in every diff, and
// ignore rules (JSON pointers, jq path expressions with a time limit, and
// fields owned by named managers) remove known noise. KeepIgnored gives the
// same rules to the sync, which then leaves the ignored fields as they are
// in the cluster (respectIgnoreDifferences).
package diff
