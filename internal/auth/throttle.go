package auth

import (
	"fmt"
	"sync"
	"time"

	"k8s.io/utils/lru"
)

// MaxUsernameLength bounds the user names a login may name, in bytes: a
// longer name is refused before any other work, so that the throttling
// tables stay small whatever clients send.
const MaxUsernameLength = 256

// ThrottlePolicy configures login rate limiting. Failed logins are counted
// per account and per client address, in two tables: guesses spread over
// many addresses still lock the account, and many accounts tried from one
// address lock the address. Once either reaches Threshold failures, logins
// for it are refused for BaseDelay, doubling with each further failure up
// to MaxDelay. Failures older than ResetAfter are forgotten, and a
// successful login resets both counters. Zero fields take the defaults
// shown.
//
// Each table keeps at most MaxEntries accounts (or addresses). When one is
// full, the least recently used entry that is not locked makes room: logins
// for other names or from other addresses cannot push a locked account or
// address out of its table, and so cannot end its lockout. Only when every
// entry of a table is locked does the least recently used locked one go.
type ThrottlePolicy struct {
	Threshold  int           // 5
	BaseDelay  time.Duration // 2s
	MaxDelay   time.Duration // 5m
	ResetAfter time.Duration // 15m
	MaxEntries int           // 10000 accounts and 10000 addresses
}

func (p ThrottlePolicy) withDefaults() ThrottlePolicy {
	if p.Threshold <= 0 {
		p.Threshold = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 2 * time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 5 * time.Minute
	}
	if p.ResetAfter <= 0 {
		p.ResetAfter = 15 * time.Minute
	}
	if p.MaxEntries <= 0 {
		p.MaxEntries = 10000
	}
	return p
}

type failures struct {
	count int
	last  time.Time
	until time.Time
}

// locked says whether f refuses logins at now.
func (f *failures) locked(now time.Time) bool { return now.Before(f.until) }

type throttle struct {
	policy ThrottlePolicy
	now    func() time.Time

	// mu guards the tables and the failures in them: an attempt reads
	// and updates both tables at once.
	mu        sync.Mutex
	accounts  *table
	addresses *table
}

func newThrottle(p ThrottlePolicy, now func() time.Time) *throttle {
	p = p.withDefaults()
	return &throttle{policy: p, now: now, accounts: newTable(p.MaxEntries), addresses: newTable(p.MaxEntries)}
}

// attempt registers a login attempt. It counts as a failure right away, so
// that parallel attempts cannot all slip past the threshold while their
// passwords are being checked; release(true) after a successful login
// clears the counters. While throttled, attempt returns a *ThrottledError.
// A name longer than MaxUsernameLength is refused with ErrInvalidArgument
// and leaves no trace.
func (t *throttle) attempt(account, addr string) (release func(ok bool), err error) {
	if len(account) > MaxUsernameLength {
		return nil, fmt.Errorf("user name longer than %d bytes: %w", MaxUsernameLength, ErrInvalidArgument)
	}
	type slot struct {
		t   *table
		key string
	}
	slots := []slot{{t.accounts, account}, {t.addresses, addr}}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, s := range slots {
		if f := s.t.get(s.key); f != nil && f.locked(now) {
			wait = max(wait, f.until.Sub(now))
		}
	}
	if wait > 0 {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	for _, s := range slots {
		f := s.t.entry(s.key, now)
		if now.Sub(f.last) > t.policy.ResetAfter {
			f.count = 0
		}
		f.count++
		f.last = now
		if n := f.count - t.policy.Threshold; n >= 0 {
			delay := t.policy.MaxDelay
			if n < 30 {
				delay = min(t.policy.BaseDelay<<n, t.policy.MaxDelay)
			}
			f.until = now.Add(delay)
		}
	}
	return func(ok bool) {
		if !ok {
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, s := range slots {
			s.t.lru.Remove(s.key)
		}
	}, nil
}

// table is one of the throttle's bounded tables, an LRU cache of
// *failures by account or address.
type table struct {
	lru *lru.Cache
	max int
	// evicted is the entry the last RemoveOldest removed.
	evicted *evictedEntry
}

type evictedEntry struct {
	key string
	f   *failures
}

func newTable(size int) *table {
	t := &table{max: size}
	t.lru = lru.NewWithEvictionFunc(size, func(k lru.Key, v any) {
		t.evicted = &evictedEntry{key: k.(string), f: v.(*failures)}
	})
	return t
}

func (t *table) get(key string) *failures {
	if v, ok := t.lru.Get(key); ok {
		return v.(*failures)
	}
	return nil
}

// entry returns key's failures, adding a new entry if needed. A full
// table first drops its least recently used entry that is not locked:
// locked entries met on the way get a second chance (they become the most
// recently used) unless every entry is locked.
func (t *table) entry(key string, now time.Time) *failures {
	if f := t.get(key); f != nil {
		return f
	}
	for i := 0; t.lru.Len() >= t.max; i++ {
		t.evicted = nil
		t.lru.RemoveOldest()
		e := t.evicted
		if e == nil {
			break
		}
		if e.f.locked(now) && i < t.max {
			t.lru.Add(e.key, e.f)
		}
	}
	f := &failures{}
	t.lru.Add(key, f)
	return f
}
