package testenv

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// WordPress returns the files of examples/wordpress (the reference
// scenario's app) under wordpress/, with its cluster-scoped
// PersistentVolumes renamed after prefix so that tests running side by
// side, and the demo, never share them.
func WordPress(t testing.TB, prefix string) map[string]string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(here), "..", "..", "examples", "wordpress")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "wordpress-mysql-pv", prefix+"-mysql-pv")
		files["wordpress/"+e.Name()] = strings.ReplaceAll(s, "wordpress-html-pv", prefix+"-html-pv")
	}
	return files
}
