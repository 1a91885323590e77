package install

import (
	"bytes"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

func TestObjectsKindsAndOrder(t *testing.T) {
	objs, err := Objects(Options{Namespace: "gitops", Image: "registry.example/soll:v1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
		if o.GetKind() != "CustomResourceDefinition" && o.GetKind() != "Namespace" &&
			!strings.HasPrefix(o.GetKind(), "Cluster") && o.GetNamespace() != "gitops" {
			t.Errorf("%s %s is in namespace %q, want gitops", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	want := []string{
		"CustomResourceDefinition/applications.soll.dev",
		"CustomResourceDefinition/clusters.soll.dev",
		"CustomResourceDefinition/projects.soll.dev",
		"Namespace/gitops",
		"ServiceAccount/soll",
		"ClusterRole/soll-controller-gitops",
		"ClusterRoleBinding/soll-controller-gitops",
		"Role/soll-secrets",
		"RoleBinding/soll-secrets",
		"Role/soll-leader-election",
		"RoleBinding/soll-leader-election",
		"Service/soll",
		"Deployment/soll",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("install objects (-want +got):\n%s", diff)
	}
}

// TestReplicas: several replicas get a rolling update and a
// PodDisruptionBudget that lets one pod at a time go; one replica gets no
// budget (a drain could not evict it).
func TestReplicas(t *testing.T) {
	for _, tc := range []struct {
		replicas, want int
		pdb            bool
	}{{0, 1, false}, {1, 1, false}, {3, 3, true}} {
		objs, err := Objects(Options{Namespace: "gitops", Image: "soll:dev", Replicas: tc.replicas})
		if err != nil {
			t.Fatal(err)
		}
		var dep appsv1.Deployment
		var pdb *policyv1.PodDisruptionBudget
		for _, o := range objs {
			switch o.GetKind() {
			case "Deployment":
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &dep); err != nil {
					t.Fatal(err)
				}
			case "PodDisruptionBudget":
				pdb = &policyv1.PodDisruptionBudget{}
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, pdb); err != nil {
					t.Fatal(err)
				}
			}
		}
		ru := dep.Spec.Strategy.RollingUpdate
		if *dep.Spec.Replicas != int32(tc.want) || dep.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
			ru == nil || ru.MaxSurge.IntValue() != 0 || ru.MaxUnavailable.IntValue() != 1 {
			t.Errorf("Replicas %d: Deployment has %d replicas, strategy %+v; want %d, RollingUpdate one pod at a time, none surging", tc.replicas, *dep.Spec.Replicas, dep.Spec.Strategy, tc.want)
		}
		if (pdb != nil) != tc.pdb {
			t.Errorf("Replicas %d: PodDisruptionBudget %v, want one: %v", tc.replicas, pdb != nil, tc.pdb)
		}
		if pdb != nil && (pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.Selector.MatchLabels["app.kubernetes.io/name"] != "soll" || pdb.Namespace != "gitops") {
			t.Errorf("PodDisruptionBudget %+v, want maxUnavailable 1 over soll's pods in gitops", pdb)
		}
	}
}

// TestManifestsDecodeStrictly catches misspelt fields, which the API server
// would silently drop.
func TestManifestsDecodeStrictly(t *testing.T) {
	docs, err := Manifests(Options{Namespace: "soll", Image: "soll:dev"})
	if err != nil {
		t.Fatal(err)
	}
	var dep *appsv1.Deployment
	var clusterRole *rbacv1.ClusterRole
	var svc *corev1.Service
	for _, d := range docs {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(d, &meta); err != nil {
			t.Fatal(err)
		}
		var obj any
		switch meta.Kind {
		case "Namespace":
			obj = &corev1.Namespace{}
		case "ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "ClusterRole":
			clusterRole = &rbacv1.ClusterRole{}
			obj = clusterRole
		case "ClusterRoleBinding":
			obj = &rbacv1.ClusterRoleBinding{}
		case "Role":
			obj = &rbacv1.Role{}
		case "RoleBinding":
			obj = &rbacv1.RoleBinding{}
		case "Deployment":
			dep = &appsv1.Deployment{}
			obj = dep
		case "Service":
			svc = &corev1.Service{}
			obj = svc
		default:
			continue
		}
		if err := yaml.UnmarshalStrict(d, obj); err != nil {
			t.Errorf("%s: %v\n%s", meta.Kind, err, d)
		}
	}
	if dep == nil || clusterRole == nil || svc == nil {
		t.Fatal("no Deployment, ClusterRole or Service in the manifests")
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.Image != "soll:dev" || c.Args[0] != "run" || !slices.Contains(c.Args, "--namespace=soll") {
		t.Errorf("container runs %s %v, want soll:dev run --namespace=soll", c.Image, c.Args)
	}
	if *dep.Spec.Replicas != 1 || c.SecurityContext == nil || !*c.SecurityContext.ReadOnlyRootFilesystem ||
		!*dep.Spec.Template.Spec.SecurityContext.RunAsNonRoot || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("deployment lacks one replica, non-root, read-only root or requests: %+v", dep.Spec)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/tmp" {
		t.Errorf("want an emptyDir at /tmp, got %+v", c.VolumeMounts)
	}
	// The Service reaches the container's API port by its name.
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("container ports %+v, want http 8080", c.Ports)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].Port != 8080 ||
		svc.Spec.Ports[0].TargetPort.StrVal != "http" || svc.Spec.Selector["app.kubernetes.io/name"] != dep.Spec.Selector.MatchLabels["app.kubernetes.io/name"] {
		t.Errorf("Service %+v does not reach the Deployment's http port", svc.Spec)
	}
	var events, soll bool
	for _, r := range clusterRole.Rules {
		events = events || slices.Contains(r.APIGroups, "events.k8s.io") && slices.Contains(r.Verbs, "create")
		soll = soll || slices.Contains(r.APIGroups, "soll.dev") && slices.Contains(r.Resources, "applications/status")
	}
	if !events || !soll {
		t.Errorf("ClusterRole misses events or soll.dev status rules: %+v", clusterRole.Rules)
	}
}

func TestImageIsQuoted(t *testing.T) {
	docs, err := Manifests(Options{Namespace: "soll", Image: "reg.example:5000/soll@sha256:abc"})
	if err != nil {
		t.Fatal(err)
	}
	last := docs[len(docs)-1]
	if !bytes.Contains(last, []byte(`image: "reg.example:5000/soll@sha256:abc"`)) {
		t.Errorf("image not quoted in:\n%s", last)
	}
}

func TestImagePullSecrets(t *testing.T) {
	objs, err := Objects(Options{Namespace: "soll", Image: "soll:dev", ImagePullSecrets: []string{"regcred", "mirror-creds"}})
	if err != nil {
		t.Fatal(err)
	}
	dep := objs[len(objs)-1]
	got, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "imagePullSecrets")
	want := []any{map[string]any{"name": "regcred"}, map[string]any{"name": "mirror-creds"}}
	if dep.GetKind() != "Deployment" || !reflect.DeepEqual(got, want) {
		t.Errorf("%s imagePullSecrets = %v, want %v", dep.GetKind(), got, want)
	}
	objs, err = Objects(Options{Namespace: "soll", Image: "soll:dev"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := unstructured.NestedFieldNoCopy(objs[len(objs)-1].Object, "spec", "template", "spec", "imagePullSecrets"); ok {
		t.Error("imagePullSecrets set without any")
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{
		{Namespace: "Soll", Image: "soll:dev"},
		{Namespace: "", Image: "soll:dev"},
		{Namespace: "soll", Image: ""},
		{Namespace: "soll", Image: "soll:dev\nkind: Pod"},
		{Namespace: "soll", Image: "soll:dev", ImagePullSecrets: []string{"regcred\n  - name: x"}},
		{Namespace: "soll", Image: "soll:dev", ImagePullSecrets: []string{""}},
		{Namespace: "soll", Image: "soll:dev", Replicas: -1},
	} {
		if _, err := Manifests(o); err == nil {
			t.Errorf("Manifests(%+v) succeeded, want an error", o)
		}
	}
}

func TestEveryTemplateIsInstalled(t *testing.T) {
	files, err := fs.Glob(templatesFS, "*.yaml.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	listed := slices.Sorted(slices.Values(templateFiles))
	if diff := cmp.Diff(files, listed); diff != "" {
		t.Errorf("templateFiles does not list the embedded templates (-embedded +listed):\n%s", diff)
	}
}

func TestWriteYAMLRoundTrips(t *testing.T) {
	docs, err := Manifests(Options{Namespace: "soll", Image: "soll:dev"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, docs); err != nil {
		t.Fatal(err)
	}
	again, err := splitDocuments(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(docs) {
		t.Errorf("printed %d documents, read back %d", len(docs), len(again))
	}
}
