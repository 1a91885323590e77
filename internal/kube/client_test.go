package kube_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"soll.dev/internal/kube"
	"soll.dev/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// TestWriteRefusesNamespaceOfClusterScopedKind: an object of a
// cluster-scoped kind that names a namespace was prepared while its kind
// was not served; writing it would track it under a namespace it does not
// have, so the write is refused and says why.
func TestWriteRefusesNamespaceOfClusterScopedKind(t *testing.T) {
	env := testenv.Cluster(t)
	kc, err := kube.New(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	role := &unstructured.Unstructured{}
	role.SetAPIVersion("rbac.authorization.k8s.io/v1")
	role.SetKind("ClusterRole")
	role.SetName("soll-test-scope")
	role.SetNamespace("dest")
	ctx := context.Background()
	for name, write := range map[string]func() error{
		"apply":  func() error { _, err := kc.Apply(ctx, role, true); return err },
		"create": func() error { _, err := kc.Create(ctx, role); return err },
	} {
		if err := write(); err == nil || !strings.Contains(err.Error(), "ClusterRole soll-test-scope is cluster-scoped but was compared as a namespaced object of namespace dest") {
			t.Errorf("%s: %v, want a refusal", name, err)
		}
	}
	role.SetNamespace("")
	if _, err := kc.Apply(ctx, role, true); err != nil {
		t.Errorf("dry-run apply without a namespace: %v", err)
	}
}
