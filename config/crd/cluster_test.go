package crd_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

var applicationsGVR = schema.GroupVersionResource{Group: "soll.dev", Version: "v1alpha1", Resource: "applications"}

// TestApplicationRoundTripOnCluster installs the CRDs into a real API server
// and shows a fully specified Application survives a create/get unchanged,
// with the server's defaults applied, and status written through the status
// subresource.
func TestApplicationRoundTripOnCluster(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := testenv.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var app sollv1.Application
	if err := yaml.UnmarshalStrict([]byte(`
apiVersion: soll.dev/v1alpha1
kind: Application
metadata:
  name: guestbook
spec:
  project: default
  sources:
  - repoURL: https://git.example.com/charts.git
    chart: guestbook
    targetRevision: 1.2.3
    helm:
      releaseName: gb
      valueFiles: [$values/guestbook/prod.yaml]
      parameters: [{name: image.tag, value: "v2"}]
  - repoURL: https://git.example.com/values.git
    targetRevision: main
    ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: {createNamespace: true}
    retry:
      limit: 5
      backoff: {duration: 5s, factor: 2, maxDuration: 3m}
  ignoreDifferences:
  - group: apps
    kind: Deployment
    jsonPointers: [/spec/replicas]
`), &app); err != nil {
		t.Fatal(err)
	}
	app.Namespace = ns
	want := app.Spec.DeepCopy()
	if err := env.Client.Create(ctx, &app); err != nil {
		t.Fatalf("create application: %v", err)
	}

	var got sollv1.Application
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(&app), &got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.RevisionHistoryLimit == nil || *got.Spec.RevisionHistoryLimit != 10 {
		t.Errorf("revisionHistoryLimit default = %v, want 10", got.Spec.RevisionHistoryLimit)
	}
	// Everything we set comes back; fields we left out may carry defaults.
	if diff := cmp.Diff(want.Sources, got.Spec.Sources); diff != "" {
		t.Errorf("sources changed in the round trip (-sent +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Destination, got.Spec.Destination); diff != "" {
		t.Errorf("destination changed in the round trip (-sent +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.IgnoreDifferences, got.Spec.IgnoreDifferences); diff != "" {
		t.Errorf("ignoreDifferences changed in the round trip (-sent +got):\n%s", diff)
	}
	if got.Spec.SyncPolicy == nil || got.Spec.SyncPolicy.Retry == nil || got.Spec.SyncPolicy.Retry.Backoff == nil ||
		got.Spec.SyncPolicy.Retry.Backoff.MaxDuration == nil || got.Spec.SyncPolicy.Retry.Backoff.MaxDuration.Duration != 3*time.Minute {
		t.Errorf("retry backoff did not round-trip: %+v", got.Spec.SyncPolicy)
	}

	// Status goes through the status subresource only.
	got.Status.Health = &sollv1.HealthStatus{Status: sollv1.HealthProgressing}
	got.Status.Sync = &sollv1.SyncStatus{Status: sollv1.SyncStatusOutOfSync}
	if err := env.Client.Status().Update(ctx, &got); err != nil {
		t.Fatalf("update status: %v", err)
	}
	var again sollv1.Application
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(&app), &again); err != nil {
		t.Fatal(err)
	}
	if again.Status.Health == nil || again.Status.Health.Status != sollv1.HealthProgressing ||
		again.Status.Sync == nil || again.Status.Sync.Status != sollv1.SyncStatusOutOfSync {
		t.Errorf("status after update: %+v", again.Status)
	}
	// A spec update does not touch status.
	again.Spec.Destination.Namespace = "guestbook-2"
	again.Status.Health = &sollv1.HealthStatus{Status: sollv1.HealthHealthy}
	if err := env.Client.Update(ctx, &again); err != nil {
		t.Fatal(err)
	}
	var final sollv1.Application
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(&app), &final); err != nil {
		t.Fatal(err)
	}
	if final.Spec.Destination.Namespace != "guestbook-2" || final.Status.Health == nil || final.Status.Health.Status != sollv1.HealthProgressing {
		t.Errorf("spec update changed status or lost the spec change: ns=%s health=%s", final.Spec.Destination.Namespace, final.Status.Health.Status)
	}
}

// TestInvalidApplicationsRejectedOnCluster shows the API server refuses
// invalid Applications at admission, with messages that name the field.
func TestInvalidApplicationsRejectedOnCluster(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := testenv.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	tests := []struct {
		name, patch string
		want        []string
	}{
		{"missing repoURL", `{spec: {source: {repoURL: null}}}`, []string{`spec.source.repoURL: Required value`}},
		{"both source and sources", `{spec: {sources: [{repoURL: "https://git.example.com/other.git"}]}}`,
			[]string{`exactly one of spec.source and spec.sources must be set`}},
		{"missing destination", `{spec: {destination: null}}`, []string{`spec.destination: Required value`}},
		{"bad backoff duration", `{spec: {syncPolicy: {retry: {backoff: {duration: 5 minutes}}}}}`,
			[]string{`spec.syncPolicy.retry.backoff.duration: Invalid value: "5 minutes"`, `should match`}},
		{"server and name", `{spec: {destination: {name: in-cluster}}}`,
			[]string{`exactly one of destination.server and destination.name must be set`}},
		{"history limit too high", `{spec: {revisionHistoryLimit: 101}}`,
			[]string{`spec.revisionHistoryLimit: Invalid value: 101`}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := mergePatch(t, wordpress, tc.patch)
			u := &unstructured.Unstructured{Object: obj}
			u.SetNamespace(ns)
			u.SetName("invalid-" + string(rune('a'+i)))
			_, err := env.Dynamic.Resource(applicationsGVR).Namespace(ns).Create(ctx, u, metav1.CreateOptions{})
			if err == nil {
				t.Fatalf("invalid Application was accepted")
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, `Application.soll.dev "`+u.GetName()+`" is invalid`) {
				t.Errorf("error does not name the object: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}

	// Status is validated too, through the status subresource.
	u := &unstructured.Unstructured{Object: mergePatch(t, wordpress, `{}`)}
	u.SetNamespace(ns)
	created, err := env.Dynamic.Resource(applicationsGVR).Namespace(ns).Create(ctx, u, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(created.Object, "Fine", "status", "health", "status"); err != nil {
		t.Fatal(err)
	}
	_, err = env.Dynamic.Resource(applicationsGVR).Namespace(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `status.health.status: Unsupported value: "Fine"`) {
		t.Fatalf("bad health status: want an Invalid error naming status.health.status, got %v", err)
	}
}
