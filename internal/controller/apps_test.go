package controller

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sollv1 "soll.dev/api/v1alpha1"
)

// TestAppRecordGoesWithTheApp: what the controller remembers of an app
// (self-heal time, its last write, remote bases, the unchanged memo) is
// removed once the app is gone, and nothing is remembered of an app that
// does not exist.
func TestAppRecordGoesWithTheApp(t *testing.T) {
	app := &sollv1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "soll", Name: "web"}}
	c := fakeClient(t).WithObjects(app).Build()
	r := &Reconciler{Client: c}
	ctx := context.Background()
	key := types.NamespacedName{Namespace: "soll", Name: "web"}
	if err := c.Get(ctx, key, app); err != nil {
		t.Fatal(err)
	}

	r.wrote(app)
	r.apps.update(key, func(rec *appRecord) {
		rec.lastHeal = time.Now()
		rec.unchanged = &unchangedMemo{fingerprint: "fp", at: time.Now()}
	})
	r.rememberRemoteBases(app, "spec.source", []string{"https://git.example.com/base.git"})
	rec := r.apps.get(key)
	if rec.lastWrite == 0 || rec.lastHeal.IsZero() || rec.unchanged == nil || len(rec.remoteBases["spec.source"]) != 1 {
		t.Fatalf("record of a live app: %+v", rec)
	}
	// The app is read while it exists: the record stays.
	var got sollv1.Application
	if err := r.getApp(ctx, key, &got); err != nil {
		t.Fatal(err)
	}
	if r.apps.len() != 1 {
		t.Fatal("the record of an existing app is gone")
	}

	if err := c.Delete(ctx, app); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key}); err != nil {
		t.Fatal(err)
	}
	if n := r.apps.len(); n != 0 {
		t.Fatalf("%d records after the app was deleted, want none", n)
	}

	// Renders of apps that do not exist (the API checks one before
	// creating it) leave no record behind.
	r.rememberRemoteBases(&sollv1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "soll", Name: "new"}}, "spec.source", []string{"https://git.example.com/base.git"})
	if n := r.apps.len(); n != 0 {
		t.Fatalf("%d records after rendering an app that does not exist, want none", n)
	}
}

// fakeClient starts an in-memory client of soll's and the core kinds, for unit tests
// of the reconciler's own logic.
func fakeClient(t *testing.T) *fake.ClientBuilder {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := sollv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme)
}
