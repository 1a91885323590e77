package git

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"soll.dev/internal/metrics"
	"soll.dev/internal/source"
	"soll.dev/internal/tracing"
)

// infiniteDepth is what git sends for --unshallow.
const infiniteDepth = 1<<31 - 1

// repoObjectCache bounds the decoded objects go-git keeps in memory per
// repository; its default (96 MiB) is too much with many repositories.
const repoObjectCache = 16 * cache.MiByte

// repoState is the local bare cache of one repository. go-git's storage is
// not safe for concurrent use, so mu serialises everything done with it.
type repoState struct {
	mu   sync.Mutex
	dir  string
	repo *gogit.Repository // opened on first use
}

func (f *Fetcher) repoState(key string) *repoState {
	f.mu.Lock()
	defer f.mu.Unlock()
	rs := f.repos[key]
	if rs == nil {
		sum := sha256.Sum256([]byte(key))
		rs = &repoState{dir: filepath.Join(f.reposDir, hex.EncodeToString(sum[:16]))}
		f.repos[key] = rs
	}
	return rs
}

// open opens the bare repository, creating it when missing and recreating
// it when unreadable: it is a cache, everything in it can be fetched again.
// rs.mu must be held.
func (rs *repoState) open() (*gogit.Repository, error) {
	if rs.repo != nil {
		return rs.repo, nil
	}
	openOrInit := func() (*gogit.Repository, error) {
		st := filesystem.NewStorage(osfs.New(rs.dir), cache.NewObjectLRU(repoObjectCache))
		r, err := gogit.Open(st, nil)
		if errors.Is(err, gogit.ErrRepositoryNotExists) {
			r, err = gogit.Init(st, nil)
		}
		return r, err
	}
	r, err := openOrInit()
	if err != nil {
		if rerr := removeTree(rs.dir); rerr != nil {
			return nil, fmt.Errorf("open repository cache %s: %w", rs.dir, err)
		}
		if r, err = openOrInit(); err != nil {
			return nil, fmt.Errorf("create repository cache %s: %w", rs.dir, err)
		}
	}
	rs.repo = r
	return r, nil
}

// Checkout implements source.Fetcher. Every caller first proves that its
// credentials can read the repository (through the cached ref listing, so
// this costs no extra request within the TTL), because the local cache is
// shared by everyone using the same URL. Concurrent checkouts of one commit
// share one fetch and one snapshot.
func (f *Fetcher) Checkout(ctx context.Context, repoURL, commitSHA string, creds source.Credentials) (source.Snapshot, error) {
	a, err := f.newAccess(repoURL, creds)
	if err != nil {
		return source.Snapshot{}, fmt.Errorf("checkout commit %s: %w", commitSHA, err)
	}
	f.count(a.ep.key, func(s *RepoStats) { s.Checkouts++ })
	sha := strings.ToLower(strings.TrimSpace(commitSHA))
	if !isFullSHA(sha) {
		return source.Snapshot{}, fmt.Errorf("checkout commit %q of %s: not a full commit SHA (40 hex digits); resolve the revision first", commitSHA, a.ep.display)
	}
	adv, err := f.refs(ctx, a)
	if err != nil {
		return source.Snapshot{}, fmt.Errorf("checkout commit %s: %w", sha, err)
	}
	key := a.ep.key + "\x00" + sha
	if snap, ok := f.checkedOut(key); ok {
		return snap, nil
	}
	ch := f.checkouts.DoChan(key, func() (any, error) {
		snap, err := f.checkout(context.WithoutCancel(ctx), a, adv, sha)
		if err == nil {
			f.snapshots.Add(key, snap)
		}
		return snap, err
	})
	select {
	case <-ctx.Done():
		return source.Snapshot{}, fmt.Errorf("checkout commit %s: %w", sha, callerGaveUp(a, "fetch from", ctx.Err()))
	case r := <-ch:
		if r.Err != nil {
			return source.Snapshot{}, fmt.Errorf("checkout commit %s: %w", sha, r.Err)
		}
		return r.Val.(source.Snapshot), nil
	}
}

// maxRememberedCheckouts bounds the snapshots Checkout answers from
// memory; past it, the least recently used is forgotten and read again
// from the repository (a cheap, local read) when asked for.
const maxRememberedCheckouts = 4096

// checkedOut returns the snapshot of a checkout done before: snapshots
// never change, and every app's periodic comparison checks its commit
// out again, which would otherwise read the commit from the pack files.
func (f *Fetcher) checkedOut(key string) (source.Snapshot, bool) {
	snap, ok := f.snapshots.Get(key)
	if !ok {
		return source.Snapshot{}, false
	}
	return snap.(source.Snapshot), true
}

func (f *Fetcher) checkout(ctx context.Context, a *access, adv *advert, sha string) (source.Snapshot, error) {
	rs := f.repoState(a.ep.key)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	repo, err := rs.open()
	if err != nil {
		return source.Snapshot{}, err
	}
	hash := plumbing.NewHash(sha)
	if _, err := repo.CommitObject(hash); err != nil {
		if err := f.fetch(ctx, a, repo, adv, hash); err != nil {
			return source.Snapshot{}, err
		}
	}
	commit, err := repo.CommitObject(hash)
	if err != nil {
		return source.Snapshot{}, &opError{
			msg:  fmt.Sprintf("not in %s: the commit is not reachable from any branch or tag", a.ep.display),
			kind: source.ErrCommitNotFound,
		}
	}
	snap := source.Snapshot{Dir: filepath.Join(f.snapshotsDir, sha), Commit: commitInfo(commit)}
	// Snapshots appear by rename, so one that exists is complete.
	if _, err := os.Lstat(snap.Dir); err == nil {
		return snap, nil
	}
	start := time.Now()
	if err := f.materialise(a, repo, commit, snap.Dir); err != nil {
		return source.Snapshot{}, err
	}
	f.count(a.ep.key, func(s *RepoStats) { s.Snapshots++ })
	f.log.DebugContext(ctx, "git snapshot created", "repo", a.ep.display, "commit", sha, "duration", time.Since(start))
	return snap, nil
}

// fetch brings commit hash into repo. A commit at the tip of a ref is
// fetched alone with depth 1, which is all a deployment needs; any other
// commit needs the history of every branch and tag, since servers refuse
// to send commits that are not ref tips. Later fetches are incremental: the
// server only sends objects the cache does not have.
func (f *Fetcher) fetch(ctx context.Context, a *access, repo *gogit.Repository, adv *advert, hash plumbing.Hash) error {
	if ref := adv.tip(hash.String()); ref != "" {
		if err := f.fetchRefs(ctx, a, repo, 1, "+"+ref+":"+ref); err != nil {
			return err
		}
		if _, err := repo.CommitObject(hash); err == nil {
			return nil
		}
		// The ref moved since it was listed; look for the commit in the
		// history instead.
	}
	depth := 0
	if shallow, err := repo.Storer.Shallow(); err == nil && len(shallow) > 0 {
		depth = infiniteDepth
	}
	return f.fetchRefs(ctx, a, repo, depth, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
}

// tip returns the ref whose tip is commit sha, preferring branches, then
// tags, then anything else; "" if none is.
func (a *advert) tip(sha string) string {
	var heads, tags, others []string
	for ref := range a.refs {
		if c, _ := a.commit(ref); c != sha {
			continue
		}
		switch {
		case strings.HasPrefix(ref, "refs/heads/"):
			heads = append(heads, ref)
		case strings.HasPrefix(ref, "refs/tags/"):
			tags = append(tags, ref)
		default:
			others = append(others, ref)
		}
	}
	for _, refs := range [][]string{heads, tags, others} {
		if len(refs) > 0 {
			return slices.Min(refs)
		}
	}
	return ""
}

func (f *Fetcher) fetchRefs(ctx context.Context, a *access, repo *gogit.Repository, depth int, specs ...string) (err error) {
	ctx, span := tracing.Tracer().Start(ctx, "git fetch", trace.WithAttributes(attribute.String("soll.repo", a.ep.display)))
	defer func() { tracing.End(span, err) }()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	start := time.Now()
	f.count(a.ep.key, func(s *RepoStats) { s.Fetches++ })
	ro, err := f.remoteOptions(a)
	if err != nil {
		return err
	}
	refSpecs := make([]config.RefSpec, len(specs))
	for i, s := range specs {
		refSpecs[i] = config.RefSpec(s)
	}
	remote := gogit.NewRemote(repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{a.ep.transport}})
	err = remote.FetchContext(ctx, &gogit.FetchOptions{
		RefSpecs:   refSpecs,
		Depth:      depth,
		Auth:       ro.auth,
		CABundle:   ro.caBundle,
		ClientCert: ro.clientCert,
		ClientKey:  ro.clientKey,
		Tags:       gogit.NoTags,
		Force:      true,
	})
	if errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		err = nil
	}
	metrics.ObserveGit("fetch", err, start)
	if err != nil {
		f.log.DebugContext(ctx, "git fetch failed", "repo", a.ep.display, "duration", time.Since(start))
		return f.classify(a, "fetch from", err)
	}
	if err := pruneShallow(repo); err != nil {
		return fmt.Errorf("fetch from %s: update shallow list: %w", a.ep.display, err)
	}
	f.log.DebugContext(ctx, "git fetch", "repo", a.ep.display, "depth", depth, "duration", time.Since(start))
	return nil
}

// pruneShallow drops commits whose parents are all present from the list
// of shallow commits. go-git only ever adds to that list, so without this a
// depth-1 fetch on top of full history, or a fetch that deepened the
// history, would leave the cache looking shallower than it is.
func pruneShallow(repo *gogit.Repository) error {
	shallow, err := repo.Storer.Shallow()
	if err != nil || len(shallow) == 0 {
		return err
	}
	kept := shallow[:0:0]
	for _, h := range shallow {
		c, err := repo.CommitObject(h)
		if err != nil {
			kept = append(kept, h)
			continue
		}
		for _, p := range c.ParentHashes {
			if _, err := repo.Storer.EncodedObject(plumbing.CommitObject, p); err != nil {
				kept = append(kept, h)
				break
			}
		}
	}
	if len(kept) == len(shallow) {
		return nil
	}
	return repo.Storer.SetShallow(kept)
}

func commitInfo(c *object.Commit) source.Commit {
	msg := strings.TrimRight(c.Message, "\n")
	subject, _, _ := strings.Cut(msg, "\n")
	return source.Commit{
		SHA:       c.Hash.String(),
		Author:    source.Signature{Name: c.Author.Name, Email: c.Author.Email, When: c.Author.When},
		Committer: source.Signature{Name: c.Committer.Name, Email: c.Committer.Email, When: c.Committer.When},
		Subject:   strings.TrimSpace(subject),
		Message:   msg,
	}
}
