// Package source describes where an application's manifests come from: a
// revision of a repository is resolved to an immutable commit, and the commit
// is checked out into a read-only snapshot directory that the render layer
// reads.
//
// The package holds only the contract (the Fetcher interface, the Revision,
// Commit and Snapshot results, the sentinel errors) and Credentials, the
// resolved, in-memory secrets used to reach a repository. Implementations live
// in sub-packages named after what they wrap: source/git today, OCI and Helm
// repositories later.
//
// Credentials never leave the process in readable form: every way of printing
// or encoding them (fmt verbs, JSON, slog) shows only which secrets are set.
package source
