// Package git implements source.Fetcher for Git repositories with go-git,
// doing each piece of remote work once for all the applications that use a
// repository.
//
// # Resolving revisions
//
// Resolve answers from the remote's ref advertisement (git ls-remote),
// which is requested at most once per repository and RevisionTTL, however
// many callers ask: concurrent callers wait for the one request in flight
// and later callers reuse its answer until the TTL ends. Refresh (for
// example on a push webhook) makes the next call ask again. The cache key is
// the normalised repository URL (NormalizeURL) together with a keyed hash of
// the credentials, so a caller never gets an answer that its own
// credentials could not have obtained. Full commit SHAs resolve to
// themselves without a request. A failed listing is reused for ten seconds
// at most, so a broken repository or bad credentials also cost one request
// per interval rather than one per application. Stats exposes the counts of remote requests
// per repository, so tests and benchmarks can check the sharing.
//
// # Checking out commits
//
// Checkout keeps one bare repository per normalised URL under
// CacheDir/repos. A commit at the tip of a ref is fetched alone at depth 1;
// an older commit makes the cache fetch the history of all branches and
// tags. Later fetches are incremental. The commit's tree is then written
// to CacheDir/snapshots/<sha>, built in a temporary directory and renamed
// into place, so a snapshot that exists is complete. Concurrent checkouts
// of one commit share one fetch and one snapshot.
//
// The object cache is shared by all credentials, so every Checkout first
// proves that its caller's credentials can read the repository, through the
// same cached ref advertisement as Resolve (no extra request within the
// TTL). Snapshots are read-only: files have mode 0444 (0555 when
// executable), directories 0555, symbolic links stay links with their
// target unchanged, so the render layer can confine what it reads. Trees
// larger than MaxRepoBytes or MaxRepoFiles are refused. Snapshots are
// immutable and never removed by this package yet; an LRU eviction can
// delete them later (they need write permission restored first, see
// removeTree). Submodules are not fetched and appear as empty directories.
//
// # Credentials and errors
//
// HTTPS takes basic auth or a bearer token, a client certificate and extra
// CA certificates; SSH takes a private key and known hosts. SSH host keys
// are always checked against the given known hosts only, never
// ~/.ssh/known_hosts, and an unknown host is refused with instructions to
// add its key: there is no way to skip the check. Errors name the
// repository (without user information) and the revision, and never
// contain passwords, tokens or keys: messages from the network layers are
// scrubbed of every secret of the credentials.
package git
