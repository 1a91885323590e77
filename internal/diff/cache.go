package diff

import (
	"crypto/sha256"
	"encoding/json"
	gosync "sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"soll.dev/internal/resource"
)

// DryRunCache remembers the API server's dry-run answer per object, keyed
// by the desired object's content and the live object's resourceVersion.
// While neither changes, the answer cannot change (short of a new admission
// webhook), so an idle app costs no API call per comparison: only changes,
// seen as a new resourceVersion or a new commit, cost a dry run.
type DryRunCache struct {
	mu  gosync.Mutex
	m   map[resource.Key]cacheEntry
	max int
}

type cacheEntry struct {
	desired [32]byte
	liveRV  string
	target  *unstructured.Unstructured
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

func liveRV(live *unstructured.Unstructured) string {
	if live == nil {
		return ""
	}
	return string(live.GetUID()) + "/" + live.GetResourceVersion()
}

func (c *DryRunCache) get(k resource.Key, desired, live *unstructured.Unstructured) (*unstructured.Unstructured, [32]byte, bool) {
	h, ok := hashObject(desired)
	if c == nil || !ok {
		return nil, h, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.m[k]
	if !found || e.desired != h || e.liveRV != liveRV(live) {
		return nil, h, false
	}
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
	c.m[k] = cacheEntry{desired: h, liveRV: liveRV(live), target: target}
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
