package controller

import (
	gosync "sync"
	"time"
)

// refreshCoalescer decides, per repository, when a refresh request makes
// the Git fetcher list the repository's refs anew. It never loses a
// request, and a burst costs one listing per window:
//
//   - A request is covered when a listing was asked for after the request
//     was written: that listing sees every push the request was about.
//     Requests are ordered against listings by the resourceVersion of the
//     Application that carries them (etcd revisions are one total order,
//     free of clock skew): a listing asked for while handling an app at
//     version v, or after the controller saw versions up to v, covers
//     every request written at v or before.
//   - The requests of one webhook delivery carry its token (they are
//     written one app after another, so their versions differ): once one
//     of them is covered, all are, since all were written after the push.
//   - An uncovered request asks for a listing now when the last one is at
//     least a window old (leading edge); otherwise it waits for the end
//     of the window (trailing edge), when the first app to come back asks
//     for one listing that covers every request waiting then.
type refreshCoalescer struct {
	window time.Duration
	mu     gosync.Mutex
	repos  map[string]*repoRefresh
}

type repoRefresh struct {
	// at is when the last listing was asked for; rv the highest
	// Application version it covers.
	at time.Time
	rv uint64
	// waiting is the highest version of a request that waits for the
	// trailing edge, waitingTokens the push tokens of those requests.
	waiting       uint64
	waitingTokens map[string]bool
	// covered: push token -> when its requests were first covered.
	covered map[string]time.Time
}

// tokenMemory is how long a covered push token is remembered: longer than
// any webhook takes to annotate the apps of one push.
const tokenMemory = 10 * time.Minute

func newRefreshCoalescer(window time.Duration) *refreshCoalescer {
	return &refreshCoalescer{window: window, repos: map[string]*repoRefresh{}}
}

// refreshRequest is one Application's request to refresh one repository.
type refreshRequest struct {
	repo string
	// rv is the Application's resourceVersion.
	rv uint64
	// token is the webhook delivery's token; "" when not from a webhook.
	token string
	// force: a hard refresh, listed at once.
	force bool
}

// request handles a refresh request. It returns list when the caller must
// ask the fetcher for a new listing now, and otherwise, while the request
// is not covered yet, how long to wait before asking again.
func (c *refreshCoalescer) request(q refreshRequest, now time.Time) (list bool, wait time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.repos[q.repo]
	if st == nil {
		st = &repoRefresh{waitingTokens: map[string]bool{}, covered: map[string]time.Time{}}
		c.repos[q.repo] = st
	}
	switch {
	case q.force || st.at.IsZero() || (!st.coveredLocked(q) && now.Sub(st.at) >= c.window):
		st.at = now
		st.rv = max(st.rv, q.rv, st.waiting)
		st.waiting = 0
		for t := range st.waitingTokens {
			st.cover(t, now)
		}
		clear(st.waitingTokens)
		st.cover(q.token, now)
		return true, 0
	case st.coveredLocked(q):
		st.cover(q.token, now)
		return false, 0
	default:
		st.waiting = max(st.waiting, q.rv)
		if q.token != "" {
			st.waitingTokens[q.token] = true
		}
		return false, st.at.Add(c.window).Sub(now)
	}
}

func (st *repoRefresh) coveredLocked(q refreshRequest) bool {
	if q.token != "" {
		if _, ok := st.covered[q.token]; ok {
			return true
		}
	}
	return st.rv >= q.rv
}

// cover remembers that the requests of token are covered, and forgets
// tokens past tokenMemory.
func (st *repoRefresh) cover(token string, now time.Time) {
	if token == "" {
		return
	}
	if _, ok := st.covered[token]; !ok {
		st.covered[token] = now
	}
	for t, at := range st.covered {
		if now.Sub(at) > tokenMemory {
			delete(st.covered, t)
		}
	}
}
