package diff

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"soll.dev/internal/resource"
)

func mustObj(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(s), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestNormalizeDropsServerFields(t *testing.T) {
	o := mustObj(t, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  uid: x
  resourceVersion: "5"
  generation: 2
  creationTimestamp: "2026-01-01T00:00:00Z"
  managedFields: [{manager: soll}]
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}
data: {k: v}
status: {x: 1}
`)
	n := Normalize(o)
	want := mustObj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {k: v}}`)
	if !equalObj(n, want) {
		t.Errorf("normalized = %v", n.Object)
	}
	if _, ok := o.Object["status"]; !ok {
		t.Error("Normalize changed its input")
	}
}

func equalObj(a, b *unstructured.Unstructured) bool {
	ab, _ := yaml.Marshal(a.Object)
	bb, _ := yaml.Marshal(b.Object)
	return string(ab) == string(bb)
}

func TestSecretValuesNeverInDiff(t *testing.T) {
	live := mustObj(t, `{apiVersion: v1, kind: Secret, metadata: {name: db}, data: {password: c2VjcmV0LW9sZA==, user: YWRtaW4=}}`)
	target := mustObj(t, `{apiVersion: v1, kind: Secret, metadata: {name: db}, data: {password: c2VjcmV0LW5ldw==, user: YWRtaW4=, token: dG9rZW4=}}`)
	res := Result{Key: resource.KeyOf(target), Live: live, Target: target}
	if err := Compare(context.Background(), &res, nil); err != nil {
		t.Fatal(err)
	}
	if res.Status != OutOfSync {
		t.Fatalf("status %s, want OutOfSync", res.Status)
	}
	for _, secret := range []string{"c2VjcmV0LW9sZA==", "c2VjcmV0LW5ldw==", "YWRtaW4=", "dG9rZW4="} {
		if strings.Contains(res.Diff, secret) {
			t.Errorf("diff leaks secret value %s:\n%s", secret, res.Diff)
		}
	}
	if !strings.Contains(res.Diff, "-  password: ++++++++ (redacted, old)") || !strings.Contains(res.Diff, "+  password: ++++++++ (redacted, new)") {
		t.Errorf("diff should show that password changed:\n%s", res.Diff)
	}
	if strings.Contains(res.Diff, "-  user:") {
		t.Errorf("unchanged key shown as changed:\n%s", res.Diff)
	}
	// Missing secret: the whole desired object is shown, redacted.
	res = Result{Key: resource.KeyOf(target), Target: target}
	_ = Compare(context.Background(), &res, nil)
	if res.Status != Missing || strings.Contains(res.Diff, "dG9rZW4=") {
		t.Errorf("missing secret: status %s, diff:\n%s", res.Status, res.Diff)
	}
}

func TestDriftAttribution(t *testing.T) {
	live := mustObj(t, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  managedFields:
  - manager: soll
    operation: Apply
    time: "2026-01-01T00:00:00Z"
    fieldsType: FieldsV1
    fieldsV1: {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:name": {}}}}}}}
  - manager: kubectl-edit
    operation: Update
    time: "2026-01-02T00:00:00Z"
    fieldsType: FieldsV1
    fieldsV1: {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {"f:image": {}}}}}}}
spec:
  replicas: 5
  template:
    spec:
      containers: [{name: app, image: "app:2"}]
`)
	target := mustObj(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  template:
    spec:
      containers: [{name: app, image: "app:1"}]
`)
	res := Result{Key: resource.KeyOf(target), Live: live, Target: target}
	if err := Compare(context.Background(), &res, nil); err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, d := range res.Drift {
		got = append(got, d.String())
	}
	want := "spec.replicas changed by kubectl-edit; spec.template.spec.containers[0].image changed by kubectl-edit"
	if strings.Join(got, "; ") != want {
		t.Errorf("drift = %q\nwant  %q", strings.Join(got, "; "), want)
	}
}

func TestIgnoreRules(t *testing.T) {
	live := mustObj(t, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  managedFields:
  - manager: hpa-controller
    operation: Update
    fieldsType: FieldsV1
    fieldsV1: {"f:spec": {"f:replicas": {}}}
spec:
  replicas: 7
  paused: false
  template: {spec: {containers: [{name: app, image: a}, {name: sidecar, image: injected:9}]}}
`)
	target := mustObj(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  replicas: 2
  paused: true
  template: {spec: {containers: [{name: app, image: a}, {name: sidecar, image: injected:1}]}}
`)
	k := resource.KeyOf(target)
	cases := []struct {
		name  string
		rules []IgnoreRule
		want  Status
	}{
		{"no rules", nil, OutOfSync},
		{"all three", []IgnoreRule{{
			Group: "apps", Kind: "Deployment",
			JSONPointers:          []string{"/spec/paused"},
			JQPathExpressions:     []string{`.spec.template.spec.containers[] | select(.name == "sidecar") | .image`},
			ManagedFieldsManagers: []string{"hpa-controller"},
		}}, Synced},
		{"other kind does not match", []IgnoreRule{{
			Group: "apps", Kind: "StatefulSet", JSONPointers: []string{"/spec/paused"},
			JQPathExpressions:     []string{`.spec.template.spec.containers[] | select(.name == "sidecar") | .image`},
			ManagedFieldsManagers: []string{"hpa-controller"},
		}}, OutOfSync},
		{"partial", []IgnoreRule{{Kind: "Deployment", JSONPointers: []string{"/spec/paused"}}}, OutOfSync},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ig, err := NewIgnorer(tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			res := Result{Key: k, Live: live, Target: target}
			if err := Compare(context.Background(), &res, ig); err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.want {
				t.Errorf("status %s, want %s; drift %v", res.Status, tc.want, res.Drift)
			}
		})
	}
}

func TestIgnoreRuleErrors(t *testing.T) {
	if _, err := NewIgnorer([]IgnoreRule{{JQPathExpressions: []string{".spec | ("}}}); err == nil || !strings.Contains(err.Error(), "ignoreDifferences[0].jqPathExpressions") {
		t.Errorf("bad jq: %v", err)
	}
	if _, err := NewIgnorer([]IgnoreRule{{JSONPointers: []string{"spec/replicas"}}}); err == nil || !strings.Contains(err.Error(), "start it with /") {
		t.Errorf("bad pointer: %v", err)
	}
}

func TestJQExpressionThatNeverEnds(t *testing.T) {
	ig, err := NewIgnorer([]IgnoreRule{{JQPathExpressions: []string{`.spec | until(false; .)`}}})
	if err != nil {
		t.Fatal(err)
	}
	o := mustObj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a}, spec: {a: 1}}`)
	start := time.Now()
	err = ig.Apply(context.Background(), resource.KeyOf(o), o, Normalize(o), Normalize(o))
	if err == nil || !strings.Contains(err.Error(), "longer than 1s") {
		t.Fatalf("want a time-limit error, got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("runaway jq stopped after %s", d)
	}
}

func TestManagedFieldsSubresource(t *testing.T) {
	live := mustObj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {k: v2}}`)
	live.SetManagedFields([]metav1.ManagedFieldsEntry{{
		Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate, FieldsType: "FieldsV1",
		FieldsV1: metav1.NewFieldsV1(`{"f:data":{"f:k":{}}}`),
	}})
	target := mustObj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {k: v1}}`)
	res := Result{Key: resource.KeyOf(target), Live: live, Target: target}
	_ = Compare(context.Background(), &res, nil)
	if len(res.Drift) != 1 || res.Drift[0].String() != "data.k changed by kubectl" {
		t.Errorf("drift %v", res.Drift)
	}
}
