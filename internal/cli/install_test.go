package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"soll.dev/internal/testenv"
)

func TestInstallPrintsManifests(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"install", "-n", "gitops", "--image", "example/soll:v1"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(&out, 4096)
	var kinds []string
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("parse soll install output: %v", err)
		}
		if u.Object == nil {
			continue
		}
		kinds = append(kinds, u.GetKind())
		if u.GetKind() == "Deployment" {
			img, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			if c := img[0].(map[string]any); c["image"] != "example/soll:v1" || u.GetNamespace() != "gitops" {
				t.Errorf("deployment runs %v in %s, want example/soll:v1 in gitops", c["image"], u.GetNamespace())
			}
		}
	}
	want := []string{"CustomResourceDefinition", "CustomResourceDefinition", "CustomResourceDefinition", "Namespace", "ServiceAccount",
		"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Role", "RoleBinding", "Service", "Deployment"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("kinds in soll install output (-want +got):\n%s", diff)
	}
}

// TestInstallReplicas: --replicas sets the Deployment's replicas and adds
// a PodDisruptionBudget; fewer than one is refused, naming the flag.
func TestInstallReplicas(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"install", "-n", "gitops", "--replicas", "3"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(&out, 4096)
	var replicas any
	var args []any
	pdb := false
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("parse soll install output: %v", err)
		}
		switch u.GetKind() {
		case "Deployment":
			replicas, _, _ = unstructured.NestedFieldNoCopy(u.Object, "spec", "replicas")
			containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			args, _, _ = unstructured.NestedSlice(containers[0].(map[string]any), "args")
		case "PodDisruptionBudget":
			pdb = true
		}
	}
	if fmt.Sprint(replicas) != "3" || !pdb || !slices.Contains(args, any("--shard")) {
		t.Errorf("soll install --replicas 3: %v replicas, PodDisruptionBudget %v, arguments %v; want 3, one, and --shard", replicas, pdb, args)
	}
	err := Run(context.Background(), []string{"install", "--replicas", "0"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--replicas 0: give 1 or more") {
		t.Errorf("soll install --replicas 0: %v, want an error naming --replicas", err)
	}
}

func TestInstallApply(t *testing.T) {
	env := testenv.Cluster(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	name := "soll-controller-" + ns
	t.Cleanup(func() {
		for _, obj := range []client.Object{
			&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}},
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}},
		} {
			if err := env.Client.Delete(context.Background(), obj); client.IgnoreNotFound(err) != nil {
				t.Errorf("clean up: %v", err)
			}
		}
	})
	for range 2 { // applying twice changes nothing and fails nothing
		out, err := sollCLI(t, env, ns, "install", "--apply")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "Deployment soll applied") || !strings.Contains(out, "soll installed in namespace "+ns) {
			t.Errorf("soll install --apply printed %q", out)
		}
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "applications.soll.dev"}, &crd); err != nil {
		t.Fatal(err)
	}
	var dep appsv1.Deployment
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "soll"}, &dep); err != nil {
		t.Fatal(err)
	}
	if got := dep.Spec.Template.Spec.ServiceAccountName; got != "soll" {
		t.Errorf("deployment runs as %q, want soll", got)
	}
	var svc corev1.Service
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "soll"}, &svc); err != nil {
		t.Fatal(err)
	}
	if p := svc.Spec.Ports; len(p) != 1 || p[0].Name != "http" || p[0].Port != 8080 {
		t.Errorf("Service ports %+v, want http 8080", p)
	}
	var crb rbacv1.ClusterRoleBinding
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &crb); err != nil {
		t.Fatal(err)
	}
	if s := crb.Subjects; len(s) != 1 || s[0].Namespace != ns || s[0].Name != "soll" {
		t.Errorf("ClusterRoleBinding subjects %+v, want ServiceAccount %s/soll", s, ns)
	}
}
