package diff

import (
	"crypto/sha256"
	"encoding/json"
	"reflect"
	gosync "sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"soll.dev/internal/resource"
)

// DryRunCache remembers the API server's dry-run answer per object, keyed
// by the desired object's content and the live object's content apart from
// its status and bookkeeping (resourceVersion, generation, the times in
// managedFields). While neither changes, the answer cannot change (short
// of a new admission webhook), so an idle app costs no API call per
// comparison, nor does a Deployment whose status moves while its Pods
// start: only changes of what soll compares, or a new commit, cost a dry
// run.
//
// With Manager set (the field manager of soll's applies), an object the
// last answer found in sync stays in sync while what Manager owns of it
// stays: other managers' changes (the Deployment controller's revision
// annotation, a label added by hand) cost no dry run either.
type DryRunCache struct {
	// Manager is the field manager of the applies dry-run; "" turns the
	// ownership shortcut off.
	Manager string

	mu  gosync.Mutex
	m   map[resource.Key]cacheEntry
	max int
}

type cacheEntry struct {
	desired [32]byte
	live    string
	// liveVersion is the uid and resourceVersion of the live object last
	// found to have key live: while they stay, so does the content, and
	// live need not be computed again.
	liveVersion string
	// owned, set only when the answer left the live object as it was
	// (in sync), is the uid of the live object and what Manager owns of
	// it (ownedKey).
	owned  string
	target *unstructured.Unstructured
}

// liveVersion identifies one version of live; "" if it has none.
func liveVersion(live *unstructured.Unstructured) string {
	if live == nil || live.GetResourceVersion() == "" {
		return ""
	}
	return string(live.GetUID()) + "/" + live.GetResourceVersion()
}

// NewDryRunCache returns a cache holding at most max objects (0: 200,000);
// when full it starts over, which only costs dry runs.
func NewDryRunCache(max int) *DryRunCache {
	if max <= 0 {
		max = 200_000
	}
	return &DryRunCache{m: map[resource.Key]cacheEntry{}, max: max}
}

func hashObject(obj *unstructured.Unstructured) ([32]byte, bool) {
	b, err := json.Marshal(obj.Object)
	if err != nil {
		return [32]byte{}, false
	}
	return sha256.Sum256(b), true
}

// liveKey identifies what of a live object a dry run depends on: its
// identity and content without status, resourceVersion, generation and
// the times of managedFields entries, which status updates alone change.
func liveKey(live *unstructured.Unstructured) string {
	if live == nil {
		return ""
	}
	o := make(map[string]any, len(live.Object))
	for k, v := range live.Object {
		if k != "status" {
			o[k] = v
		}
	}
	if md, ok := live.Object["metadata"].(map[string]any); ok {
		m := make(map[string]any, len(md))
		for k, v := range md {
			switch k {
			case "resourceVersion", "generation":
			case "managedFields":
				m[k] = managedFieldsWithoutTimes(v)
			default:
				m[k] = v
			}
		}
		o["metadata"] = m
	}
	b, err := json.Marshal(o)
	if err != nil {
		// Unhashable: fall back to the version, which every change moves.
		return string(live.GetUID()) + "/rv/" + live.GetResourceVersion()
	}
	sum := sha256.Sum256(b)
	return string(live.GetUID()) + "/" + string(sum[:])
}

func managedFieldsWithoutTimes(v any) any {
	entries, ok := v.([]any)
	if !ok {
		return v
	}
	out := make([]any, len(entries))
	for i, e := range entries {
		m, ok := e.(map[string]any)
		if !ok {
			out[i] = e
			continue
		}
		c := make(map[string]any, len(m))
		for k, v := range m {
			if k != "time" {
				c[k] = v
			}
		}
		out[i] = c
	}
	return out
}

// ownedKey identifies what manager owns of live: the object's uid and
// manager's managedFields entries without their times; "" when it owns
// nothing there.
func ownedKey(live *unstructured.Unstructured, manager string) string {
	if live == nil || manager == "" || live.GetUID() == "" {
		return ""
	}
	var mine []any
	entries, _, _ := unstructured.NestedSlice(live.Object, "metadata", "managedFields")
	for _, e := range managedFieldsWithoutTimes(entries).([]any) {
		if m, ok := e.(map[string]any); ok && m["manager"] == manager {
			mine = append(mine, m)
		}
	}
	if len(mine) == 0 {
		return ""
	}
	b, err := json.Marshal(mine)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return string(live.GetUID()) + "/" + string(sum[:])
}

func (c *DryRunCache) get(k resource.Key, desired, live *unstructured.Unstructured) (*unstructured.Unstructured, [32]byte, bool) {
	h, ok := hashObject(desired)
	if c == nil || !ok {
		return nil, h, false
	}
	v := liveVersion(live)
	c.mu.Lock()
	e, found := c.m[k]
	c.mu.Unlock()
	if !found || e.desired != h {
		return nil, h, false
	}
	if v != "" && v == e.liveVersion {
		return e.target, h, true
	}
	lk := liveKey(live)
	if e.live != lk {
		if e.owned == "" || ownedKey(live, c.Manager) != e.owned {
			return nil, h, false
		}
		// The object was in sync, and since then only fields of
		// other managers changed: an apply of the same desired
		// object still changes nothing, so the answer is the live
		// object itself. (A change of a field the manager owns moves
		// or drops its ownership, and shows in its entry.)
		target := live.DeepCopy()
		c.mu.Lock()
		if cur, ok := c.m[k]; ok && cur.desired == e.desired {
			c.m[k] = cacheEntry{desired: h, live: lk, liveVersion: v, owned: e.owned, target: target}
		}
		c.mu.Unlock()
		return target, h, true
	}
	// A new version with the same content (a status update): remember
	// it, so the next comparison of this version skips liveKey.
	c.mu.Lock()
	if cur, ok := c.m[k]; ok && cur.desired == e.desired && cur.live == e.live {
		cur.liveVersion = v
		c.m[k] = cur
	}
	c.mu.Unlock()
	return e.target, h, true
}

// put records target, the answer of an apply of the desired object with
// hash h to live: a dry run's, or a real one's (applied; live is then the
// answer itself).
func (c *DryRunCache) put(k resource.Key, h [32]byte, live, target *unstructured.Unstructured, applied bool) {
	if c == nil {
		return
	}
	e := cacheEntry{desired: h, live: liveKey(live), liveVersion: liveVersion(live), target: target}
	if owned := ownedKey(live, c.Manager); owned != "" && (applied || leftAsItWas(live, target, owned, c.Manager)) {
		e.owned = owned
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.m = map[resource.Key]cacheEntry{}
	}
	c.m[k] = e
}

// leftAsItWas reports whether target, the answer of a dry-run apply to
// live, changes nothing of it: neither what is compared nor what the
// manager owns (an apply that would take over a field already at its
// value changes only the ownership, and later changes of that field
// would otherwise go unseen).
func leftAsItWas(live, target *unstructured.Unstructured, owned, manager string) bool {
	return ownedKey(target, manager) == owned && reflect.DeepEqual(Normalize(live).Object, Normalize(target).Object)
}

// Seed records the answer of a real apply of desired: the live object right
// after it. A dry run of the same desired object against that live object
// would answer the same, so the comparison after a sync costs no dry run
// for objects nothing else changed since.
func (c *DryRunCache) Seed(desired, applied *unstructured.Unstructured) {
	if c == nil || applied == nil {
		return
	}
	h, ok := hashObject(desired)
	if !ok {
		return
	}
	c.put(resource.KeyOf(desired), h, applied, applied.DeepCopy(), true)
}

// Forget drops every entry (a hard refresh).
func (c *DryRunCache) Forget() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.m = map[resource.Key]cacheEntry{}
	c.mu.Unlock()
}

// Len reports the number of cached objects.
func (c *DryRunCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
