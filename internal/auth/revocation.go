package auth

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// revocationList holds the ids of logged-out sessions until they expire.
// It is stored in the soll-revoked-tokens Secret (key: token id, value:
// expiry in RFC 3339) and cached in memory, re-read every refresh so that
// logouts on other replicas take effect.
type revocationList struct {
	m       *Manager
	refresh time.Duration

	mu     sync.Mutex
	ids    map[string]time.Time
	loaded time.Time
}

func (l *revocationList) contains(ctx context.Context, id string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.m.now()
	if l.ids == nil || now.Sub(l.loaded) > l.refresh || now.Before(l.loaded) {
		ids, err := l.read(ctx)
		if err != nil {
			return false, err
		}
		l.ids, l.loaded = ids, now
	}
	_, ok := l.ids[id]
	return ok, nil
}

func (l *revocationList) read(ctx context.Context) (map[string]time.Time, error) {
	var s corev1.Secret
	err := l.m.c.Get(ctx, l.m.objKey(RevokedTokensName), &s)
	if apierrors.IsNotFound(err) {
		return map[string]time.Time{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s/%s: %w", l.m.ns, RevokedTokensName, err)
	}
	return decodeRevoked(s.Data), nil
}

func decodeRevoked(data map[string][]byte) map[string]time.Time {
	ids := make(map[string]time.Time, len(data))
	for id, v := range data {
		exp, err := time.Parse(time.RFC3339, string(v))
		if err != nil {
			// Keep unreadable entries revoked until someone removes them.
			exp = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		ids[id] = exp
	}
	return ids
}

// add revokes id until exp and drops entries that have expired.
func (l *revocationList) add(ctx context.Context, id string, exp time.Time) error {
	now := l.m.now()
	var ids map[string]time.Time
	err := l.m.updateSecret(ctx, RevokedTokensName, func(data map[string][]byte) (map[string][]byte, error) {
		ids = decodeRevoked(data)
		ids[id] = exp
		out := map[string][]byte{}
		for k, e := range ids {
			if e.Before(now) {
				delete(ids, k)
				continue
			}
			out[k] = []byte(e.UTC().Format(time.RFC3339))
		}
		return out, nil
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.ids, l.loaded = ids, now
	l.mu.Unlock()
	return nil
}
