package controller

import (
	gosync "sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// appRecord is what the controller remembers of one Application between
// reconciles. Each app has one record at most, removed when the app is
// gone (appRecords.forget), so memory follows the apps that exist.
type appRecord struct {
	// lastHeal is when the app's last self-heal sync started; zero:
	// none yet.
	lastHeal time.Time
	// lastWrite is the resourceVersion of soll's last write of the
	// Application, until the cache has caught up with it; 0: it has.
	lastWrite uint64
	// remoteBases are, per source field ("spec.source"), the repository
	// URLs of the source's remote Kustomize bases at its last
	// comparison, listed anew with the app's own repositories on
	// refresh. Replaced whole, never changed in place.
	remoteBases map[string][]string
	// deletionRetry is when the failed deletion hooks of the app (being
	// deleted) are to be tried again; zero: at once.
	deletionRetry time.Time
	// unchanged is the memo of the app's last full comparison, when a
	// later comparison may be skipped on it; nil otherwise.
	unchanged *unchangedMemo
}

// appRecords holds the record of every app the controller reconciled.
// The lock guards the map and the records only; it is never held across
// a call to the API server.
type appRecords struct {
	mu   gosync.Mutex
	apps map[types.NamespacedName]*appRecord
}

// get returns a copy of the record of key; the zero record when there is
// none.
func (a *appRecords) get(key types.NamespacedName) appRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	if rec := a.apps[key]; rec != nil {
		return *rec
	}
	return appRecord{}
}

// update changes the record of key with f, creating it when missing. f
// runs under the lock: it must only change the record.
func (a *appRecords) update(key types.NamespacedName, f func(*appRecord)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec := a.apps[key]
	if rec == nil {
		if a.apps == nil {
			a.apps = map[types.NamespacedName]*appRecord{}
		}
		rec = &appRecord{}
		a.apps[key] = rec
	}
	f(rec)
}

// ensure creates the record of key when missing: the app exists.
func (a *appRecords) ensure(key types.NamespacedName) {
	a.update(key, func(*appRecord) {})
}

// updateExisting changes the record of key with f, as update does, only
// when there is one: what is learnt about an app that does not exist (a
// render the API asked for before creating it) is not kept.
func (a *appRecords) updateExisting(key types.NamespacedName, f func(*appRecord)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if rec := a.apps[key]; rec != nil {
		f(rec)
	}
}

// forget removes the record of key: the app is gone.
func (a *appRecords) forget(key types.NamespacedName) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.apps, key)
}

// len returns the number of records.
func (a *appRecords) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.apps)
}
