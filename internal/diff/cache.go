package diff

import (
	"crypto/sha256"
	"encoding/json"
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
type DryRunCache struct {
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
	target      *unstructured.Unstructured
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
	if e.live != liveKey(live) {
		return nil, h, false
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

func (c *DryRunCache) put(k resource.Key, h [32]byte, live, target *unstructured.Unstructured) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.m = map[resource.Key]cacheEntry{}
	}
	c.m[k] = cacheEntry{desired: h, live: liveKey(live), liveVersion: liveVersion(live), target: target}
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
	c.put(resource.KeyOf(desired), h, applied, applied.DeepCopy())
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
