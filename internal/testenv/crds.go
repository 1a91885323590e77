package testenv

import (
	"context"
	"sync"
	"testing"

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
