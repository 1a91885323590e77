package controller

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"slices"
	"strings"
	gosync "sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
)

// Sharding: every controller replica holds a Lease of its own in soll's
// namespace, renewed every ShardRenewInterval; the replicas whose Leases
// are live share the apps out by rendezvous hashing (each app goes to the
// replica whose hash with the app's key is highest), so a replica that
// joins or leaves moves only its own share. A replica that could not renew
// its Lease within ShardRenewDeadline stops acting at once and its process
// stops; the others take its apps once its Lease is ShardLeaseDuration
// old. Operations are fenced besides: a replica claims one by writing
// status.operationState (with its identity) with optimistic concurrency,
// so two replicas that both take an app for theirs during a handover
// cannot both start or resume the same operation.
const (
	ShardLeaseDuration = 15 * time.Second
	ShardRenewInterval = 2 * time.Second
	ShardRenewDeadline = 10 * time.Second
	// shardLabel marks the Leases of controller replicas.
	shardLabel = "soll.dev/controller-replica"
	// shardLeasePrefix begins the name of each replica's Lease.
	shardLeasePrefix = "soll-controller-"
)

// shardRing is this replica's view of the controller replicas.
type shardRing struct {
	// id is this replica's identity: the name of its Lease.
	id     string
	ns     string
	leases coordinationclient.LeasesGetter
	log    *slog.Logger
	// legacy names the leader election Lease of controllers that are not
	// sharded: while one of those leads, sharded replicas act on nothing
	// (an upgrade from one mode to the other).
	legacy string
	// changed is told, after a change of the live replicas (or of what
	// blocks them), which ones it shared the apps with before (none when
	// this replica owned nothing).
	changed func(before []string)

	mu        gosync.RWMutex
	members   []string
	observed  map[string]observedLease
	blocked   string
	lastRenew time.Time
}

// observedLease is a Lease as this replica saw it change: its
// resourceVersion and when (by this replica's clock) it last changed.
type observedLease struct {
	version string
	at      time.Time
}

func newShardRing(leases coordinationclient.LeasesGetter, ns, legacy string, log *slog.Logger) *shardRing {
	host, _ := os.Hostname()
	id := shardLeasePrefix + strings.ToLower(rand.SafeEncodeString(host))
	if len(id) > 200 {
		id = id[:200]
	}
	id += "-" + rand.String(5)
	return &shardRing{id: id, ns: ns, leases: leases, log: log, legacy: legacy, observed: map[string]observedLease{}}
}

// NeedLeaderElection: every replica runs its ring (manager.LeaderElectionRunnable).
func (r *shardRing) NeedLeaderElection() bool { return false }

// Start holds this replica's Lease until ctx ends, and deletes it then so
// that the others take its apps at once. It returns an error when the
// Lease could not be renewed within ShardRenewDeadline: the replica must
// stop, as it may no longer own anything.
func (r *shardRing) Start(ctx context.Context) error {
	r.log.Info("sharding: this replica holds a Lease and runs its share of the applications", "lease", r.ns+"/"+r.id)
	t := time.NewTicker(ShardRenewInterval)
	defer t.Stop()
	for {
		r.round(ctx)
		r.mu.RLock()
		last := r.lastRenew
		r.mu.RUnlock()
		if !last.IsZero() && time.Since(last) > ShardRenewDeadline {
			return fmt.Errorf("lost the Lease %s/%s (not renewed within %s): stopped the controller so that no other replica's applications are touched", r.ns, r.id, ShardRenewDeadline)
		}
		select {
		case <-ctx.Done():
			r.release()
			return nil
		case <-t.C:
		}
	}
}

// round renews this replica's Lease and reads the others'. A renewal may
// take until the renew deadline: a busy API server answering slowly must
// not stop the replicas. It counts from when it was sent, which is no
// later than when the others see it.
func (r *shardRing) round(ctx context.Context) {
	r.mu.RLock()
	last := r.lastRenew
	r.mu.RUnlock()
	budget := ShardRenewDeadline
	if !last.IsZero() {
		budget = max(ShardRenewDeadline-time.Since(last), ShardRenewInterval)
	}
	rctx, cancel := context.WithTimeout(ctx, budget)
	sent := time.Now()
	err := r.renew(rctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("sharding: renew the Lease", "lease", r.id, "error", err.Error())
		}
		return
	}
	r.mu.Lock()
	r.lastRenew = sent
	r.mu.Unlock()
	ctx, cancel = context.WithTimeout(ctx, ShardRenewDeadline/2)
	defer cancel()
	l, err := r.leases.Leases(r.ns).List(ctx, metav1.ListOptions{LabelSelector: shardLabel + "=true"})
	if err != nil {
		r.log.Warn("sharding: list the replicas' Leases", "error", err.Error())
		return
	}
	// The others' Leases are seen now, at the latest: their expiry is
	// counted from then, never from before they changed.
	seenAt := time.Now()
	blocked := ""
	if r.legacy != "" {
		if lease, err := r.leases.Leases(r.ns).Get(ctx, r.legacy, metav1.GetOptions{}); err == nil {
			if holder := ptrString(lease.Spec.HolderIdentity); holder != "" && r.live("legacy/"+lease.Name, lease.ResourceVersion, time.Now()) {
				blocked = holder
			}
		} else if !apierrors.IsNotFound(err) {
			r.log.Warn("sharding: read the leader election Lease", "error", err.Error())
			return
		}
	}
	var members []string
	seen := map[string]bool{}
	for _, lease := range l.Items {
		seen[lease.Name] = true
		if lease.Name == r.id || ptrString(lease.Spec.HolderIdentity) != "" && r.live(lease.Name, lease.ResourceVersion, seenAt) {
			members = append(members, lease.Name)
		}
	}
	if !slices.Contains(members, r.id) {
		members = append(members, r.id)
	}
	slices.Sort(members)
	r.mu.Lock()
	for name := range r.observed {
		if !seen[name] && !strings.HasPrefix(name, "legacy/") {
			delete(r.observed, name)
		}
	}
	before := r.members
	if r.blocked != "" {
		before = nil // this replica owned nothing
	}
	changed := !slices.Equal(r.members, members) || r.blocked != blocked
	if r.blocked != blocked {
		if blocked != "" {
			r.log.Warn("sharding: a controller elected by the Lease "+r.legacy+" runs every application; this replica waits for it to stop", "holder", blocked)
		} else if r.blocked != "" {
			r.log.Info("sharding: the elected controller stopped; this replica runs its share")
		}
	}
	r.members, r.blocked = members, blocked
	r.mu.Unlock()
	if changed {
		r.log.Info("sharding: replicas", "live", strings.Join(members, ","), "this", r.id)
		if r.changed != nil {
			go r.changed(before) // never holds up the renewals
		}
	}
}

// live reports whether the Lease name, now at version, changed within
// ShardLeaseDuration (by this replica's clock: clocks of replicas may
// differ, the rate at which they pass may not much).
func (r *shardRing) live(name, version string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	o, ok := r.observed[name]
	if !ok || o.version != version {
		o = observedLease{version: version, at: now}
		r.observed[name] = o
	}
	return now.Sub(o.at) < ShardLeaseDuration
}

// renew creates or renews this replica's Lease.
func (r *shardRing) renew(ctx context.Context) error {
	now := metav1.NewMicroTime(time.Now())
	seconds := int32(ShardLeaseDuration / time.Second)
	lease, err := r.leases.Leases(r.ns).Get(ctx, r.id, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: r.id, Namespace: r.ns, Labels: map[string]string{shardLabel: "true"}},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &r.id, LeaseDurationSeconds: &seconds, AcquireTime: &now, RenewTime: &now},
		}
		_, err = r.leases.Leases(r.ns).Create(ctx, lease, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	if h := ptrString(lease.Spec.HolderIdentity); h != r.id {
		return fmt.Errorf("the Lease %s is held by %q", r.id, h)
	}
	lease.Spec.RenewTime = &now
	_, err = r.leases.Leases(r.ns).Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

// release deletes this replica's Lease.
func (r *shardRing) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.mu.Lock()
	r.members = nil
	r.mu.Unlock()
	err := r.leases.Leases(r.ns).Delete(ctx, r.id, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		r.log.Warn("sharding: delete the Lease on stopping", "lease", r.id, "error", err.Error())
	}
}

// owns reports whether this replica acts on the app (or Cluster) with the
// given key now: its Lease was renewed within ShardRenewDeadline, no
// elected controller runs, and the key hashes to it among the live
// replicas.
func (r *shardRing) owns(key string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.blocked != "" || r.lastRenew.IsZero() || time.Since(r.lastRenew) > ShardRenewDeadline {
		return false
	}
	return shardOwner(r.members, key) == r.id
}

// alive reports whether the replica id holds a live Lease.
func (r *shardRing) alive(id string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Contains(r.members, id)
}

// shardOwner is the member that key goes to: the one whose hash with key
// is highest (rendezvous hashing).
func shardOwner(members []string, key string) string {
	var best string
	var bestScore uint64
	for _, m := range members {
		h := fnv.New64a()
		_, _ = h.Write([]byte(m))
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(key))
		score := mix64(h.Sum64())
		if best == "" || score > bestScore {
			best, bestScore = m, score
		}
	}
	return best
}

// mix64 spreads the bits of FNV's hash (splitmix64's finalizer), so that
// members' scores for one key are independent.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func ptrString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// setShards makes r run only the apps (and Clusters) ring gives this
// replica, and wake those it gains when the replicas change. waitSync
// waits for the cache of Applications to be filled.
func (r *Reconciler) setShards(ring *shardRing, waitSync func(context.Context) bool) {
	r.shards = ring
	ring.changed = func(before []string) {
		// The apps the controller was told of before this replica knew
		// its share were dropped: the cache lists them all, once filled.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if !waitSync(ctx) {
			r.Log.Error("sharding: the cache of applications did not fill; the apps this replica takes over are run at their next change")
			return
		}
		r.shardsChanged(before)
	}
}

// owns reports whether this replica runs key (an app's "namespace/name",
// a Cluster's "cluster:namespace/name"): always without sharding.
func (r *Reconciler) owns(key string) bool {
	return r.shards == nil || r.shards.owns(key)
}

// shardsChanged wakes the apps this replica owns now and did not own
// among the replicas before (all it owns when it owned nothing), and
// the Clusters likewise.
func (r *Reconciler) shardsChanged(before []string) {
	ctx := context.Background()
	var l sollv1.ApplicationList
	if err := r.Client.List(ctx, &l, client.InNamespace(r.Namespace)); err != nil {
		r.Log.Error("sharding: list the applications to take over", "error", err.Error())
		return
	}
	gained := 0
	for _, app := range l.Items {
		key := client.ObjectKeyFromObject(&app)
		if r.shards.owns(key.String()) && shardOwner(before, key.String()) != r.shards.id {
			r.wake.wake(key)
			gained++
		}
	}
	if gained > 0 {
		r.Log.Info("sharding: applications taken over", "count", gained)
	}
	var cl sollv1.ClusterList
	if err := r.Client.List(ctx, &cl, client.InNamespace(r.Namespace)); err == nil && r.clusterChanges != nil {
		for _, c := range cl.Items {
			key := client.ObjectKeyFromObject(&c)
			if r.shards.owns("cluster:" + key.String()) {
				r.clusterChanges.wake(key)
			}
		}
	}
}
