package auth

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// DefaultRevocationLimit is the default of Options.RevocationLimit: half
// of the 1 MiB a Secret may hold.
const DefaultRevocationLimit = 512 << 10

// ErrRevocationFull is returned by Logout when the session cannot be
// revoked because the revocation list would outgrow its limit even after
// compaction; the session stays valid until it expires.
var ErrRevocationFull = errors.New("the revocation list is full")

// revocationList holds the logged-out sessions until they expire. It is
// stored in the soll-revoked-tokens Secret and cached in memory, re-read
// every refresh so that logouts on other replicas take effect.
//
// Each logout is an entry keyed by the token id, whose value is
// "<expiry RFC 3339> <logout time, Unix ms> <subject key>" (entries of
// older versions hold the expiry alone). Entries are dropped at every write
// once their token has expired. When the list would outgrow limit bytes,
// it is compacted: the logouts of the subjects with the most entries are
// folded into one entry per subject, keyed "s.<subject key>" with value
// "<expiry> <cutoff, Unix ms>", which revokes every session of that
// subject issued at or before the cutoff (its last logout): such a user's
// other sessions end too. If even that does not make room, the logout
// fails with ErrRevocationFull rather than report success for a session
// that still works.
type revocationList struct {
	m       *Manager
	refresh time.Duration
	limit   int

	mu     sync.Mutex
	list   *revoked
	loaded time.Time
}

// revoked is the decoded list.
type revoked struct {
	tokens   map[string]revokedToken   // by token id
	subjects map[string]revokedSubject // by subject key
}

type revokedToken struct {
	exp, at time.Time
	subject string // subject key; "" in entries of older versions
}

type revokedSubject struct {
	exp, before time.Time
}

const subjectPrefix = "s."

// never stands for the expiry of entries that cannot be read: they stay
// until someone removes them.
var never = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// subjectKey names a subject in the list: a hash, as Secret keys allow
// few characters and subjects are up to MaxUsernameLength bytes.
func subjectKey(kind, subject string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + subject))
	return hex.EncodeToString(sum[:16])
}

func (l *revocationList) contains(ctx context.Context, id, kind, subject string, issuedAt time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.m.now()
	if l.list == nil || now.Sub(l.loaded) > l.refresh || now.Before(l.loaded) {
		list, err := l.read(ctx)
		if err != nil {
			return false, err
		}
		l.list, l.loaded = list, now
	}
	if _, ok := l.list.tokens[id]; ok {
		return true, nil
	}
	s, ok := l.list.subjects[subjectKey(kind, subject)]
	return ok && !issuedAt.After(s.before), nil
}

func (l *revocationList) read(ctx context.Context) (*revoked, error) {
	var s corev1.Secret
	err := l.m.c.Get(ctx, l.m.objKey(RevokedTokensName), &s)
	if apierrors.IsNotFound(err) {
		return decodeRevoked(nil), nil
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s/%s: %w", l.m.ns, RevokedTokensName, err)
	}
	return decodeRevoked(s.Data), nil
}

func decodeRevoked(data map[string][]byte) *revoked {
	r := &revoked{tokens: map[string]revokedToken{}, subjects: map[string]revokedSubject{}}
	for k, v := range data {
		f := strings.Fields(string(v))
		exp := never
		if len(f) > 0 {
			if t, err := time.Parse(time.RFC3339, f[0]); err == nil {
				exp = t
			}
		}
		if key, ok := strings.CutPrefix(k, subjectPrefix); ok {
			s := revokedSubject{exp: exp, before: never}
			if len(f) == 2 && exp != never {
				if ms, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					s.before = time.UnixMilli(ms)
				}
			}
			r.subjects[key] = s
			continue
		}
		t := revokedToken{exp: exp}
		if len(f) == 3 {
			if ms, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				t.at, t.subject = time.UnixMilli(ms), f[2]
			}
		}
		r.tokens[k] = t
	}
	return r
}

func (r *revoked) encode() map[string][]byte {
	out := make(map[string][]byte, len(r.tokens)+len(r.subjects))
	for id, t := range r.tokens {
		v := t.exp.UTC().Format(time.RFC3339)
		if t.subject != "" {
			v += " " + strconv.FormatInt(t.at.UnixMilli(), 10) + " " + t.subject
		}
		out[id] = []byte(v)
	}
	for key, s := range r.subjects {
		out[subjectPrefix+key] = []byte(s.exp.UTC().Format(time.RFC3339) + " " + strconv.FormatInt(s.before.UnixMilli(), 10))
	}
	return out
}

// size is about the bytes data takes in a Secret.
func size(data map[string][]byte) int {
	n := 0
	for k, v := range data {
		n += len(k) + len(v) + 8
	}
	return n
}

// prune drops the entries whose tokens have all expired.
func (r *revoked) prune(now time.Time) {
	for id, t := range r.tokens {
		if t.exp.Before(now) {
			delete(r.tokens, id)
		}
	}
	for key, s := range r.subjects {
		if s.exp.Before(now) {
			delete(r.subjects, key)
		}
	}
}

// compact folds the entries of the subjects with the most entries into
// one entry per subject until the list fits in limit bytes, and says
// whether it does.
func (r *revoked) compact(limit int) bool {
	data := r.encode()
	if size(data) <= limit {
		return true
	}
	bySubject := map[string][]string{}
	for id, t := range r.tokens {
		if t.subject != "" {
			bySubject[t.subject] = append(bySubject[t.subject], id)
		}
	}
	keys := make([]string, 0, len(bySubject))
	for k := range bySubject {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(bySubject[b]), len(bySubject[a])), strings.Compare(a, b))
	})
	n := size(data)
	for _, key := range keys {
		if n <= limit {
			break
		}
		s, had := r.subjects[key]
		for _, id := range bySubject[key] {
			t := r.tokens[id]
			if t.exp.After(s.exp) {
				s.exp = t.exp
			}
			if t.at.After(s.before) {
				s.before = t.at
			}
			n -= len(id) + len(data[id]) + 8
			delete(r.tokens, id)
		}
		if had {
			n -= len(subjectPrefix) + len(key) + len(data[subjectPrefix+key]) + 8
		}
		r.subjects[key] = s
		n += len(subjectPrefix) + len(key) + len(s.exp.UTC().Format(time.RFC3339)) + 1 + len(strconv.FormatInt(s.before.UnixMilli(), 10)) + 8
	}
	return size(r.encode()) <= limit
}

// add revokes the token id of subject (of kind) until exp, dropping the
// entries that have expired and compacting the list when it grows too
// large.
func (l *revocationList) add(ctx context.Context, id, kind, subject string, exp time.Time) error {
	now := l.m.now()
	var list *revoked
	err := l.m.updateSecret(ctx, RevokedTokensName, func(data map[string][]byte) (map[string][]byte, error) {
		list = decodeRevoked(data)
		list.prune(now)
		list.tokens[id] = revokedToken{exp: exp, at: now, subject: subjectKey(kind, subject)}
		if !list.compact(l.limit) {
			return nil, fmt.Errorf("secret %s/%s: %w (%d bytes at most); raise the limit or wait for sessions to expire", l.m.ns, RevokedTokensName, ErrRevocationFull, l.limit)
		}
		return list.encode(), nil
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.list, l.loaded = list, now
	l.mu.Unlock()
	return nil
}
