package appstate

import (
	"sync"

	"k8s.io/utils/lru"

	"soll.dev/internal/render"
)

// maxCachedTools bounds toolCache; past it, the least recently used entry
// makes room.
const maxCachedTools = 16384

// toolCache remembers the tool render.ToolOf detected for an app's path in
// a snapshot. Snapshots never change once checked out, and detecting reads
// the app's directory: without it, every periodic comparison of every app
// would list its directory again.
// Its zero value is ready to use.
type toolCache struct {
	once  sync.Once
	tools *lru.Cache // toolKey -> render.Tool
}

//nolint:unused // a map key: its fields are read by the key's comparison, which unused does not count
type toolKey struct{ root, path string }

// of returns the tool of req, as render.ToolOf.
func (c *toolCache) of(req render.Request) (render.Tool, error) {
	if tool, ok := render.NamedTool(req); ok {
		return tool, nil
	}
	c.once.Do(func() { c.tools = lru.New(maxCachedTools) })
	k := toolKey{req.Root, req.Path}
	if tool, ok := c.tools.Get(k); ok {
		return tool.(render.Tool), nil
	}
	tool, err := render.Detect(req.Root, req.Path)
	if err != nil {
		return "", err
	}
	c.tools.Add(k, tool)
	return tool, nil
}
