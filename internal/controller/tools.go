package controller

import (
	gosync "sync"

	"soll.dev/internal/render"
)

// maxCachedTools bounds toolCache; past it, the cache starts over.
const maxCachedTools = 16384

// toolCache remembers the tool render.ToolOf detected for an app's path in
// a snapshot. Snapshots never change once checked out, and detecting reads
// the app's directory: without it, every periodic comparison of every app
// would list its directory again.
type toolCache struct {
	mu    gosync.Mutex
	tools map[toolKey]render.Tool
}

type toolKey struct{ root, path string }

// of returns the tool of req, as render.ToolOf.
func (c *toolCache) of(req render.Request) (render.Tool, error) {
	if tool, ok := render.NamedTool(req); ok {
		return tool, nil
	}
	k := toolKey{req.Root, req.Path}
	c.mu.Lock()
	tool, ok := c.tools[k]
	c.mu.Unlock()
	if ok {
		return tool, nil
	}
	tool, err := render.Detect(req.Root, req.Path)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tools == nil || len(c.tools) >= maxCachedTools {
		c.tools = map[toolKey]render.Tool{}
	}
	c.tools[k] = tool
	return tool, nil
}
