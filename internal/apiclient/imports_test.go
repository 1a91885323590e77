package apiclient

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// forbiddenDeps are packages a client of the API must never pull in: the
// server, the controller and the engine behind them, and the renderers'
// libraries, thousands of packages among them.
var forbiddenDeps = []string{
	"soll.dev/internal/server",
	"soll.dev/internal/serve",
	"soll.dev/internal/controller",
	"soll.dev/internal/render",
	"soll.dev/internal/diff",
	"soll.dev/internal/sync",
	"soll.dev/internal/source",
	"helm.sh/",
	"sigs.k8s.io/kustomize",
	"sigs.k8s.io/controller-runtime",
}

// maxDeps bounds the packages apiclient builds from: a few hundred (the
// standard library, api/v1alpha1 and apimachinery), not thousands.
const maxDeps = 400

// goListDeps returns the packages pkg depends on, itself included.
func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test runs go list: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", pkg).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v %s", pkg, err, stderr)
	}
	return strings.Fields(string(out))
}

// under reports whether pkg is prefix or one of its subpackages; a
// prefix ending in / names a whole tree (a module path).
func under(pkg, prefix string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(pkg, prefix)
	}
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}

func TestClientImportsNoServer(t *testing.T) {
	for _, pkg := range []string{"soll.dev/internal/apiclient", "soll.dev/internal/apitypes"} {
		deps := goListDeps(t, pkg)
		for _, bad := range forbiddenDeps {
			var hits []string
			for _, dep := range deps {
				if under(dep, bad) {
					hits = append(hits, dep)
				}
			}
			if len(hits) > 0 {
				t.Errorf("%s depends on %s (%d packages, %s among them): a client must not; move the wire types it needs to internal/apitypes", pkg, bad, len(hits), hits[0])
			}
		}
		if len(deps) > maxDeps {
			t.Errorf("%s depends on %d packages, more than %d: something heavy came in (go list -deps %s)", pkg, len(deps), maxDeps, pkg)
		}
	}
}

// TestWireTypesAreALeaf checks that internal/apitypes imports only the
// standard library, the API types, the version and apimachinery.
func TestWireTypesAreALeaf(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test runs go list: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-f", `{{join .Imports "\n"}}`, "soll.dev/internal/apitypes").Output()
	if err != nil {
		t.Fatalf("go list soll.dev/internal/apitypes: %v", err)
	}
	allowed := []string{"soll.dev/api/v1alpha1", "soll.dev/internal/version", "k8s.io/apimachinery/"}
	for _, imp := range strings.Fields(string(out)) {
		std := !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".")
		ok := std
		for _, a := range allowed {
			ok = ok || under(imp, a)
		}
		if !ok {
			t.Errorf("internal/apitypes imports %s: it may import only the standard library, api/v1alpha1, internal/version and k8s.io/apimachinery", imp)
		}
	}
}
