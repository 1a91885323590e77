package source

import (
	"context"
	"errors"
	"time"
)

// Fetcher resolves revisions of a repository and checks out commits. One
// Fetcher is shared by all applications, so that work is done once per
// repository, not once per application.
type Fetcher interface {
	// Resolve turns revision (a branch, a tag, a full commit SHA, or ""
	// or "HEAD" for the remote's default branch) into a commit.
	Resolve(ctx context.Context, repoURL, revision string, creds Credentials) (Revision, error)
	// Checkout makes the tree of commitSHA (a full 40-hex SHA, usually
	// from Resolve) available as a read-only snapshot directory.
	Checkout(ctx context.Context, repoURL, commitSHA string, creds Credentials) (Snapshot, error)
	// Refresh makes the next Resolve for repoURL ask the remote again even
	// if its cached answer is still fresh, e.g. after a push webhook.
	Refresh(repoURL string)
}

// Revision is a resolved revision.
type Revision struct {
	// Ref is the full name of the ref the revision matched, such as
	// "refs/heads/main" or "refs/tags/v1.2.0"; empty when the revision was a
	// commit SHA.
	Ref string
	// Commit is the full, lower-case SHA of the commit. Annotated tags are
	// peeled: this is the tagged commit, not the tag object.
	Commit string
}

// Snapshot is the checked-out tree of one commit.
//
// Dir is shared by every caller that checks out the same commit and must be
// treated as read-only (its files and directories carry no write bits).
// Snapshots are immutable, so they need no release; removing unused ones is
// the job of a cache eviction policy, not of the caller.
type Snapshot struct {
	// Dir is the absolute path of the directory holding the commit's tree.
	// Symbolic links in the repository are symbolic links here, not
	// followed, so consumers must confine what they read to Dir.
	Dir string
	// Commit describes the checked-out commit.
	Commit Commit
}

// Commit is the metadata of a commit.
type Commit struct {
	// SHA is the full, lower-case commit SHA.
	SHA       string
	Author    Signature
	Committer Signature
	// Subject is the first line of Message.
	Subject string
	// Message is the full commit message.
	Message string
}

// Signature is who made a commit and when.
type Signature struct {
	Name  string
	Email string
	When  time.Time
}

// Errors that callers may want to tell apart with errors.Is, for example to
// set a condition reason. Errors returned by implementations wrap them and
// carry a message that names the repository and says what to do.
var (
	// ErrAuthentication: the remote refused the credentials, or none were
	// given for a repository that needs them.
	ErrAuthentication = errors.New("authentication failed")
	// ErrHostKey: an SSH host key is unknown or does not match the known
	// hosts.
	ErrHostKey = errors.New("ssh host key verification failed")
	// ErrRepositoryNotFound: the remote has no such repository, or hides
	// it from these credentials.
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrRevisionNotFound: no branch or tag has the requested name.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrCommitNotFound: the commit is not reachable from any branch or tag
	// of the repository.
	ErrCommitNotFound = errors.New("commit not found")
	// ErrLimitExceeded: the content is larger than a configured limit.
	ErrLimitExceeded = errors.New("limit exceeded")
	// ErrInvalidCredentials: the credentials are malformed or incomplete,
	// such as an unreadable private key or a certificate without its key.
	ErrInvalidCredentials = errors.New("invalid credentials")
)
