package git

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"k8s.io/utils/lru"

	"soll.dev/internal/source"
)

var _ source.Fetcher = (*Fetcher)(nil)

// Defaults for Options fields left zero.
const (
	DefaultRevisionTTL  = 3 * time.Minute
	DefaultTimeout      = 2 * time.Minute
	DefaultMaxRepoBytes = 1 << 30
	DefaultMaxRepoFiles = 100_000
)

// Clock tells the time; tests pass a fake one to expire cached revisions.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Options configures a Fetcher.
type Options struct {
	// CacheDir holds the bare repositories and the snapshots. It must be
	// owned by this Fetcher alone: two processes must not share it.
	CacheDir string
	// RevisionTTL is how long a remote's list of refs is reused before it
	// is asked again (default 3m). Refresh skips the wait. A negative TTL
	// disables reuse, but concurrent callers still share one request.
	RevisionTTL time.Duration
	// Clock defaults to the system clock.
	Clock Clock
	// MaxRepoBytes limits the total size of the files of one snapshot
	// (default 1 GiB).
	MaxRepoBytes int64
	// MaxRepoFiles limits the number of files, directories and symbolic
	// links of one snapshot (default 100,000).
	MaxRepoFiles int
	// Timeout bounds each network operation: one ref listing or one fetch
	// (default 2m).
	Timeout time.Duration
	// Logger receives debug records of remote operations; it defaults to
	// slog.Default(). Secrets are never logged.
	Logger *slog.Logger
}

// Fetcher resolves revisions and checks out commits of Git repositories,
// sharing the work between all callers; see the package documentation.
// It is safe for concurrent use.
type Fetcher struct {
	ttl          time.Duration
	clock        Clock
	timeout      time.Duration
	maxBytes     int64
	maxFiles     int
	log          *slog.Logger
	reposDir     string
	snapshotsDir string
	tmpDir       string
	identityKey  []byte

	lists     singleflight.Group
	checkouts singleflight.Group
	// snapshots: repository key and commit -> a checkout's snapshot
	// (source.Snapshot). It locks itself.
	snapshots *lru.Cache

	mu       sync.Mutex
	refCache map[refsKey]*refsEntry
	gens     map[string]uint64 // Refresh generation per repository key
	repos    map[string]*repoState
	stats    map[string]*RepoStats
}

// RepoStats counts the remote work done for one repository, so tests and
// benchmarks can check that it is shared.
type RepoStats struct {
	// Resolves and Checkouts count calls.
	Resolves, Checkouts int64
	// RefLists counts ref advertisements requested from the remote
	// (ls-remote); fetches are counted separately.
	RefLists int64
	// Fetches counts fetches from the remote.
	Fetches int64
	// Snapshots counts snapshot directories written.
	Snapshots int64
}

// New creates the cache directories and returns a Fetcher. Leftovers of an
// interrupted run (temporary files) are removed.
func New(opts Options) (*Fetcher, error) {
	if opts.CacheDir == "" {
		return nil, fmt.Errorf("new git fetcher: CacheDir is required")
	}
	dir, err := filepath.Abs(opts.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("new git fetcher: %w", err)
	}
	f := &Fetcher{
		ttl:          opts.RevisionTTL,
		clock:        opts.Clock,
		timeout:      opts.Timeout,
		maxBytes:     opts.MaxRepoBytes,
		maxFiles:     opts.MaxRepoFiles,
		log:          opts.Logger,
		reposDir:     filepath.Join(dir, "repos"),
		snapshotsDir: filepath.Join(dir, "snapshots"),
		tmpDir:       filepath.Join(dir, "tmp"),
		identityKey:  make([]byte, 32),
		refCache:     map[refsKey]*refsEntry{},
		gens:         map[string]uint64{},
		repos:        map[string]*repoState{},
		stats:        map[string]*RepoStats{},
		snapshots:    lru.New(maxRememberedCheckouts),
	}
	if f.ttl == 0 {
		f.ttl = DefaultRevisionTTL
	}
	if f.clock == nil {
		f.clock = realClock{}
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.maxBytes <= 0 {
		f.maxBytes = DefaultMaxRepoBytes
	}
	if f.maxFiles <= 0 {
		f.maxFiles = DefaultMaxRepoFiles
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	_, _ = rand.Read(f.identityKey) // never fails since Go 1.24
	if err := removeTree(f.tmpDir); err != nil {
		return nil, fmt.Errorf("new git fetcher: clean %s: %w", f.tmpDir, err)
	}
	for _, d := range []string{f.reposDir, f.snapshotsDir, f.tmpDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("new git fetcher: %w", err)
		}
	}
	return f, nil
}

// Refresh makes the next Resolve of repoURL ask the remote, for every set of
// credentials, even if the cached refs are fresh; a request already in
// flight is not reused either, since it may predate the push that prompted
// the refresh. Invalid URLs are ignored.
func (f *Fetcher) Refresh(repoURL string) {
	ep, err := parseEndpoint(repoURL)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.gens[ep.key]++
	f.mu.Unlock()
}

// Stats returns a copy of the counters, keyed by NormalizeURL of the
// repository.
func (f *Fetcher) Stats() map[string]RepoStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]RepoStats, len(f.stats))
	for k, v := range f.stats {
		out[k] = *v
	}
	return out
}

// count applies fn to the counters of repo.
func (f *Fetcher) count(repo string, fn func(*RepoStats)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats[repo]
	if s == nil {
		s = &RepoStats{}
		f.stats[repo] = s
	}
	fn(s)
}
