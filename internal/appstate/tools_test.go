package appstate

import (
	"os"
	"path/filepath"
	"testing"

	"soll.dev/internal/render"
)

// TestToolCacheDetectsOncePerSnapshot: the tool of an app's path is
// detected from its files once per snapshot; a tool the source names
// needs no files at all.
func TestToolCacheDetectsOncePerSnapshot(t *testing.T) {
	snap := t.TempDir()
	app := filepath.Join(snap, "apps", "demo")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "kustomization.yaml"), []byte("resources: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &toolCache{}
	req := render.Request{Root: snap, Path: "apps/demo"}
	if tool, err := c.of(req); err != nil || tool != render.ToolKustomize {
		t.Fatalf("of = %q, %v, want kustomize", tool, err)
	}
	// The answer is the snapshot's: it stands without reading again.
	if err := os.RemoveAll(app); err != nil {
		t.Fatal(err)
	}
	if tool, err := c.of(req); err != nil || tool != render.ToolKustomize {
		t.Fatalf("of, again = %q, %v, want kustomize from the cache", tool, err)
	}
	// Another snapshot is read afresh, and a missing path is an error.
	if _, err := c.of(render.Request{Root: t.TempDir(), Path: "apps/demo"}); err == nil {
		t.Fatal("of a missing path: no error")
	}
	// A tool named by the source reads nothing.
	if tool, err := c.of(render.Request{Root: t.TempDir(), Path: "nowhere", Directory: &render.DirectoryOptions{}}); err != nil || tool != render.ToolDirectory {
		t.Fatalf("of a named tool = %q, %v", tool, err)
	}
}
