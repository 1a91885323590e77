package render

import (
	"context"
	"encoding/json"
	gosync "sync"

	"golang.org/x/sync/semaphore"
	"k8s.io/utils/lru"
)

// Cache wraps a Renderer and remembers its results by request. A request
// (other than a chart reference, which is never cached here) names an
// immutable snapshot (its Root is the checkout of one commit) plus
// the path and options, so a cached result stays right forever: an
// unchanged app costs no render. Failed renders are not cached (a limit or
// timeout may pass another time). Results are shared: callers must not
// modify the returned objects.
type Cache struct {
	Renderer Renderer
	// Max bounds the number of cached results (0: 10,000); when full,
	// the least recently used result makes room. Set it before the
	// first Render.
	Max int
	// Parallel bounds the renders in flight at once (0: no bound).
	// Rendering is CPU work, and Jsonnet children may each take up to
	// Limits.MaxMemoryBytes: many workers waiting on the network must not
	// mean as many renders at once. Set it before the first Render.
	Parallel int

	results *lru.Cache          // from Max, at the first render
	slots   *semaphore.Weighted // from Parallel, at the first render
	once    gosync.Once
}

func (c *Cache) init() {
	c.once.Do(func() {
		if c.Parallel > 0 {
			c.slots = semaphore.NewWeighted(int64(c.Parallel))
		}
		size := c.Max
		if size <= 0 {
			size = 10_000
		}
		c.results = lru.New(size)
	})
}

// render calls the renderer within the bound of Parallel.
func (c *Cache) render(ctx context.Context, req Request) (*Result, error) {
	if c.slots != nil {
		if err := c.slots.Acquire(ctx, 1); err != nil {
			return nil, err
		}
		defer c.slots.Release(1)
	}
	return c.Renderer.Render(ctx, req)
}

var _ Renderer = (*Cache)(nil)

// Render returns the cached result for req, or renders and caches it.
func (c *Cache) Render(ctx context.Context, req Request) (*Result, error) {
	c.init()
	if req.Chart != nil {
		// A chart reference is no snapshot: a version range or "latest"
		// moves, and its credentials are not part of the key. The Helm
		// renderer caches the downloaded charts themselves.
		return c.render(ctx, req)
	}
	b, err := json.Marshal(req)
	if err != nil {
		return c.render(ctx, req)
	}
	key := string(b)
	if res, ok := c.results.Get(key); ok {
		return res.(*Result), nil
	}
	res, err := c.render(ctx, req)
	if err != nil {
		return nil, err
	}
	c.results.Add(key, res)
	return res, nil
}

// Len reports the number of cached results.
func (c *Cache) Len() int {
	c.init()
	return c.results.Len()
}
