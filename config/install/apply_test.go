package install_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"soll.dev/config/install"
	"soll.dev/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// namespaced are the objects of an install that live in its namespace
// (the test leaves the cluster-wide ones alone).
func namespaced(t *testing.T, o install.Options) []*unstructured.Unstructured {
	t.Helper()
	objs, err := install.Objects(o)
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, obj := range objs {
		if obj.GetNamespace() == o.Namespace {
			out = append(out, obj)
		}
	}
	return out
}

// TestApplyPrunesTheBudget: going from three replicas back to one, Apply
// deletes the PodDisruptionBudget it made (with one pod, a budget of one
// unavailable would still let the pod go, but it is no longer part of the
// install); a budget someone else made in the namespace stays.
func TestApplyPrunesTheBudget(t *testing.T) {
	env := testenv.Cluster(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	opts := install.Options{Namespace: ns, Image: "registry.example/soll:1", Replicas: 3}
	var out bytes.Buffer
	if err := install.Apply(ctx, env.Client, namespaced(t, opts), &out); err != nil {
		t.Fatal(err)
	}
	var pdb policyv1.PodDisruptionBudget
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "soll"}, &pdb); err != nil {
		t.Fatalf("three replicas: no PodDisruptionBudget: %v\n%s", err, out.String())
	}
	// Someone's own budget over soll's pods, labelled as part of soll.
	one := intstr.FromInt32(1)
	theirs := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "ops-budget", Namespace: ns, Labels: map[string]string{"app.kubernetes.io/part-of": "soll"}},
		Spec:       policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "soll"}}},
	}
	if err := env.Client.Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	opts.Replicas = 1
	if err := install.Apply(ctx, env.Client, namespaced(t, opts), &out); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "soll"}, &pdb); !apierrors.IsNotFound(err) {
		t.Errorf("one replica: the install's PodDisruptionBudget is still there (get: %v)", err)
	}
	if !strings.Contains(out.String(), "PodDisruptionBudget soll deleted (not part of this install)") {
		t.Errorf("Apply's output does not say it deleted the budget:\n%s", out.String())
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ops-budget"}, &pdb); err != nil {
		t.Errorf("the budget someone else made is gone: %v", err)
	}
	// Applying again changes nothing and deletes nothing more.
	out.Reset()
	if err := install.Apply(ctx, env.Client, namespaced(t, opts), &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "deleted") {
		t.Errorf("a second apply deleted something:\n%s", out.String())
	}
}
