package appstate

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render/sops"
	"soll.dev/internal/render/sops/sopstest"
)

// TestSOPSKeyVersionsPerProject: the version of a project's keys, which
// the comparison fingerprint and every render request carry, changes when
// a Secret that serves the project changes, and only then.
func TestSOPSKeyVersionsPerProject(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	secret := func(name, projects string) *corev1.Secret {
		key, _ := sopstest.NewKey(t)
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "soll", UID: types.UID("uid-" + name),
				Labels:      map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeSOPSKeys},
				Annotations: map[string]string{sops.ProjectsAnnotation: projects}},
			Data: map[string][]byte{"k": []byte(key)},
		}
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(secret("a", "team-a"), secret("b", "team-b"), secret("shared", "*")).Build()
	pl := &Pipeline{Client: c}
	ctx := context.Background()
	versions := func() map[string]string {
		out := map[string]string{}
		for _, p := range []string{"team-a", "team-b", "team-c"} {
			_, v, err := pl.sopsKeys(ctx, "soll", p)
			if err != nil {
				t.Fatal(err)
			}
			out[p] = v
		}
		return out
	}
	touch := func(name string) {
		var s corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: "soll", Name: name}, &s); err != nil {
			t.Fatal(err)
		}
		key, _ := sopstest.NewKey(t)
		s.Data["k"] = []byte(key)
		if err := c.Update(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	before := versions()
	if before["team-a"] == before["team-b"] || before["team-b"] == before["team-c"] || before["team-a"] == before["team-c"] {
		t.Fatalf("projects share a key version: %v", before)
	}
	touch("b")
	after := versions()
	if after["team-a"] != before["team-a"] || after["team-c"] != before["team-c"] {
		t.Errorf("a change to team-b's keys changed the versions of other projects: %v -> %v", before, after)
	}
	if after["team-b"] == before["team-b"] {
		t.Error("a change to team-b's keys kept team-b's version")
	}
	touch("shared")
	shared := versions()
	for p := range shared {
		if shared[p] == after[p] {
			t.Errorf("a change to the shared keys kept %s's version", p)
		}
	}
}
