package git

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"soll.dev/internal/metrics"
	"soll.dev/internal/source"
	"soll.dev/internal/tracing"
)

// refsKey identifies a cached ref advertisement: the same repository seen
// with other credentials is cached apart, so nobody gets an answer their
// credentials could not have obtained.
type refsKey struct{ repo, identity string }

type refsEntry struct {
	adv *advert
	err error     // a failed request, remembered for errorTTL
	at  time.Time // when the request was sent
	gen uint64    // Refresh generation the request was sent in
}

// errorTTL is how long a failed ref listing is reused (capped by the TTL),
// so that a broken repository or bad credentials cost one request per
// interval too, rather than one per application, without hiding a fixed
// outage for the whole TTL.
const errorTTL = 10 * time.Second

// advert is what a remote advertises: its refs and default branch.
type advert struct {
	refs map[string]string // ref name -> object SHA (tag object for annotated tags)
	// peeled maps annotated tags to the commit they point to.
	peeled map[string]string
	// head is the ref HEAD points to, such as refs/heads/main, when the
	// remote says; headSHA is HEAD's object.
	head, headSHA string
}

func newAdvert(refs []*plumbing.Reference) *advert {
	a := &advert{refs: map[string]string{}, peeled: map[string]string{}}
	for _, r := range refs {
		name := r.Name().String()
		switch {
		case name == "HEAD" && r.Type() == plumbing.SymbolicReference:
			a.head = r.Target().String()
		case name == "HEAD":
			a.headSHA = r.Hash().String()
		case strings.HasSuffix(name, "^{}"):
			a.peeled[strings.TrimSuffix(name, "^{}")] = r.Hash().String()
		case r.Type() == plumbing.HashReference:
			a.refs[name] = r.Hash().String()
		}
	}
	if a.head != "" {
		a.headSHA = a.refs[a.head]
	}
	return a
}

// commit returns the commit a ref points to, peeling annotated tags.
func (a *advert) commit(ref string) (string, bool) {
	if sha, ok := a.peeled[ref]; ok {
		return sha, true
	}
	sha, ok := a.refs[ref]
	return sha, ok
}

// resolve finds revision among the refs. A name that is both a branch and a
// tag resolves to the branch, as in Argo CD; "refs/tags/NAME" selects the
// tag.
func (a *advert) resolve(revision string) (ref, sha string, ok bool) {
	if revision == "" || revision == "HEAD" {
		switch {
		case a.head != "" && a.headSHA != "":
			return a.head, a.headSHA, true
		case a.headSHA != "":
			return "HEAD", a.headSHA, true
		}
		return "", "", false
	}
	candidates := []string{revision}
	if !strings.HasPrefix(revision, "refs/") {
		candidates = []string{"refs/heads/" + revision, "refs/tags/" + revision, "refs/" + revision}
	}
	for _, c := range candidates {
		if sha, ok := a.commit(c); ok {
			return c, sha, true
		}
	}
	return "", "", false
}

// branches lists up to n branch names, sorted, and how many were left out.
func (a *advert) branches(n int) ([]string, int) {
	var names []string
	for ref := range a.refs {
		if name, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) > n {
		return names[:n], len(names) - n
	}
	return names, 0
}

// Resolve implements source.Fetcher. A full commit SHA is returned as is,
// without asking the remote; Checkout verifies that the repository has it.
// Everything else is looked up in the remote's ref advertisement, which is
// requested at most once per repository, credentials and RevisionTTL, and
// only once for any number of concurrent callers.
func (f *Fetcher) Resolve(ctx context.Context, repoURL, revision string, creds source.Credentials) (source.Revision, error) {
	a, err := f.newAccess(repoURL, creds)
	if err != nil {
		return source.Revision{}, fmt.Errorf("resolve revision %q: %w", revision, err)
	}
	f.count(a.ep.key, func(s *RepoStats) { s.Resolves++ })
	rev := strings.TrimSpace(revision)
	if isFullSHA(rev) {
		return source.Revision{Commit: strings.ToLower(rev)}, nil
	}
	adv, err := f.refs(ctx, a)
	if err != nil {
		return source.Revision{}, fmt.Errorf("resolve revision %q: %w", revision, err)
	}
	ref, sha, ok := adv.resolve(rev)
	if !ok {
		return source.Revision{}, &opError{msg: notFoundMessage(a, adv, rev), kind: source.ErrRevisionNotFound}
	}
	return source.Revision{Ref: ref, Commit: sha}, nil
}

func notFoundMessage(a *access, adv *advert, rev string) string {
	var b strings.Builder
	if rev == "" || rev == "HEAD" {
		fmt.Fprintf(&b, "resolve revision %q: %s does not advertise a default branch; set the revision to a branch, tag or commit", rev, a.ep.display)
	} else {
		fmt.Fprintf(&b, "resolve revision %q: no branch or tag %q in %s", rev, rev, a.ep.display)
	}
	if len(rev) >= 4 && len(rev) < 40 && isHex(rev) {
		b.WriteString(" (abbreviated commit SHAs are not supported: use all 40 hex digits)")
	}
	names, more := adv.branches(10)
	switch {
	case len(names) == 0:
		b.WriteString("; the repository has no branches")
	case more > 0:
		fmt.Fprintf(&b, "; available branches: %s and %d more", strings.Join(names, ", "), more)
	default:
		fmt.Fprintf(&b, "; available branches: %s", strings.Join(names, ", "))
	}
	return b.String()
}

// refs returns the remote's advertisement for a, from the cache while it is
// fresh. Concurrent callers with the same key share one request, which runs
// detached from any one caller's context so that a caller giving up does
// not fail the others; it is bounded by the Fetcher's timeout instead.
func (f *Fetcher) refs(ctx context.Context, a *access) (*advert, error) {
	key := refsKey{repo: a.ep.key, identity: a.identity}
	f.mu.Lock()
	gen := f.gens[key.repo]
	e := f.freshLocked(key, gen)
	f.mu.Unlock()
	if e != nil {
		return e.adv, e.err
	}
	if err := ctx.Err(); err != nil {
		return nil, callerGaveUp(a, "list refs of", err)
	}
	flight := fmt.Sprintf("%s\x00%s\x00%d", key.repo, key.identity, gen)
	ch := f.lists.DoChan(flight, func() (any, error) {
		// A caller that missed the cache may arrive just after the
		// previous flight stored its answer and ended.
		f.mu.Lock()
		e := f.freshLocked(key, gen)
		f.mu.Unlock()
		if e != nil {
			return e.adv, e.err
		}
		adv, err := f.list(context.WithoutCancel(ctx), a)
		f.store(key, &refsEntry{adv: adv, err: err, at: f.clock.Now(), gen: gen})
		return adv, err
	})
	select {
	case <-ctx.Done():
		return nil, callerGaveUp(a, "list refs of", ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*advert), nil
	}
}

// freshLocked returns the cached answer for key if it was obtained in
// generation gen and is still fresh. f.mu must be held.
func (f *Fetcher) freshLocked(key refsKey, gen uint64) *refsEntry {
	e := f.refCache[key]
	if e == nil || e.gen != gen || f.clock.Now().Sub(e.at) >= f.ttlOf(e) {
		return nil
	}
	return e
}

func (f *Fetcher) ttlOf(e *refsEntry) time.Duration {
	if e.err != nil {
		return min(f.ttl, errorTTL)
	}
	return f.ttl
}

// store caches e under key, unless a newer generation is cached already.
// e.at is taken after the request, not before: a slow request would
// otherwise arrive already expired for callers that joined it late.
func (f *Fetcher) store(key refsKey, e *refsEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cur := f.refCache[key]; cur == nil || cur.gen <= e.gen {
		f.refCache[key] = e
	}
	// Drop expired answers, such as those for rotated credentials, so
	// the cache does not grow with every secret ever used.
	now := f.clock.Now()
	for k, old := range f.refCache {
		if now.Sub(old.at) >= f.ttlOf(old) {
			delete(f.refCache, k)
		}
	}
}

// list asks the remote for its refs (git ls-remote).
func (f *Fetcher) list(ctx context.Context, a *access) (_ *advert, err error) {
	ctx, span := tracing.Tracer().Start(ctx, "git ls-remote", trace.WithAttributes(attribute.String("soll.repo", a.ep.display)))
	defer func() { tracing.End(span, err) }()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	start := time.Now()
	f.count(a.ep.key, func(s *RepoStats) { s.RefLists++ })
	ro, err := f.remoteOptions(a)
	if err != nil {
		return nil, err
	}
	remote := gogit.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{a.ep.transport}})
	refs, err := remote.ListContext(ctx, &gogit.ListOptions{
		Auth:          ro.auth,
		CABundle:      ro.caBundle,
		ClientCert:    ro.clientCert,
		ClientKey:     ro.clientKey,
		PeelingOption: gogit.AppendPeeled,
	})
	metrics.ObserveGit("ls-remote", err, start)
	if err != nil {
		f.log.DebugContext(ctx, "git ls-remote failed", "repo", a.ep.display, "duration", time.Since(start))
		return nil, f.classify(a, "list refs of", err)
	}
	adv := newAdvert(refs)
	f.log.DebugContext(ctx, "git ls-remote", "repo", a.ep.display, "refs", len(adv.refs), "duration", time.Since(start))
	return adv, nil
}

// remoteOptions are the transport settings of one network operation.
type remoteOptions struct {
	auth                            transport.AuthMethod
	caBundle, clientCert, clientKey []byte
}

func (f *Fetcher) remoteOptions(a *access) (remoteOptions, error) {
	switch a.ep.scheme {
	case "http", "https":
		return remoteOptions{
			auth:       a.httpAuth(),
			caBundle:   a.creds.CACert,
			clientCert: a.creds.TLSClientCert,
			clientKey:  a.creds.TLSClientKey,
		}, nil
	case "ssh":
		auth, err := a.newSSHAuth(f.tmpDir, f.timeout)
		if err != nil {
			return remoteOptions{}, err
		}
		return remoteOptions{auth: auth}, nil
	}
	return remoteOptions{}, nil
}

func isFullSHA(s string) bool { return len(s) == 40 && isHex(s) }

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}
