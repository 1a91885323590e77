package testenv

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"soll.dev/config/install"
	"soll.dev/internal/devenv"
)

var crdsInstalled sync.Map // kubeconfig path -> *crdInstall

type crdInstall struct {
	once sync.Once
	err  error
}

// InstallCRDs installs soll's CRDs into the cluster with
// devenv.InstallCRDs (server-side apply, so concurrent test packages
// agree) and waits until they are Established and served. It runs once per
// cluster and process. e.Client knows soll's types already.
func (e *Env) InstallCRDs(t testing.TB) {
	t.Helper()
	v, _ := crdsInstalled.LoadOrStore(e.KubeconfigPath, &crdInstall{})
	in := v.(*crdInstall)
	in.once.Do(func() { in.err = devenv.InstallCRDs(context.Background(), e.Client) })
	if in.err != nil {
		t.Fatalf("testenv: install soll CRDs: %v", in.err)
	}
}

// PreviousCRDs returns the CRDs of soll's previous release, recorded in
// config/crd/testdata/previous (see its README and `make previous-crds`).
func PreviousCRDs(t testing.TB) []*unstructured.Unstructured {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testenv: cannot locate the source tree")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "config", "crd", "testdata", "previous")
	files, err := filepath.Glob(filepath.Join(dir, "soll.dev_*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("testenv: no previous CRDs in %s (%v): record them with make previous-crds", dir, err)
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(b, &u.Object); err != nil {
			t.Fatalf("testenv: %s: %v", f, err)
		}
		objs = append(objs, u)
	}
	return objs
}

// InstallPreviousCRDs installs PreviousCRDs as the previous release's
// `soll install --apply` did, into a private cluster: the shared one keeps
// the current CRDs.
func (e *Env) InstallPreviousCRDs(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := install.Apply(ctx, e.Client, PreviousCRDs(t), io.Discard); err != nil {
		t.Fatalf("testenv: install the previous CRDs: %v", err)
	}
}
