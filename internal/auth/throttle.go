package auth

import (
	"sync"
	"time"
)

// ThrottlePolicy configures login rate limiting. Failed logins are counted
// per account and per client address; once either reaches Threshold
// failures, logins for it are refused for BaseDelay, doubling with each
// further failure up to MaxDelay. Failures older than ResetAfter are
// forgotten, and a successful login resets both counters. Zero fields take
// the defaults shown.
type ThrottlePolicy struct {
	Threshold  int           // 5
	BaseDelay  time.Duration // 2s
	MaxDelay   time.Duration // 5m
	ResetAfter time.Duration // 15m
	MaxEntries int           // 10000 tracked accounts and addresses
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

type throttle struct {
	policy ThrottlePolicy
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*failures
}

func newThrottle(p ThrottlePolicy, now func() time.Time) *throttle {
	return &throttle{policy: p.withDefaults(), now: now, entries: map[string]*failures{}}
}

// attempt registers a login attempt. It counts as a failure right away, so
// that parallel attempts cannot all slip past the threshold while their
// passwords are being checked; release(true) after a successful login
// clears the counters. While throttled, attempt returns a *ThrottledError.
func (t *throttle) attempt(account, addr string) (release func(ok bool), err error) {
	keys := []string{"account:" + account, "addr:" + addr}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		if f := t.entries[k]; f != nil && now.Before(f.until) {
			wait = max(wait, f.until.Sub(now))
		}
	}
	if wait > 0 {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	for _, k := range keys {
		f := t.entry(k, now)
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
		for _, k := range keys {
			delete(t.entries, k)
		}
	}, nil
}

func (t *throttle) entry(k string, now time.Time) *failures {
	if f, ok := t.entries[k]; ok {
		return f
	}
	if len(t.entries) >= t.policy.MaxEntries {
		t.prune(now)
	}
	f := &failures{}
	t.entries[k] = f
	return f
}

// prune forgets entries that no longer throttle nor count; if that is not
// enough, arbitrary entries go, so that memory stays bounded whatever
// names and addresses clients send.
func (t *throttle) prune(now time.Time) {
	for k, f := range t.entries {
		if now.After(f.until) && now.Sub(f.last) > t.policy.ResetAfter {
			delete(t.entries, k)
		}
	}
	for k := range t.entries {
		if len(t.entries) < t.policy.MaxEntries {
			break
		}
		delete(t.entries, k)
	}
}
