package appstate

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sollv1 "soll.dev/api/v1alpha1"
)

// TestProjectTheCacheHasNotSeen: a Project missing from the cache is read
// from the API server, so an app written right after its Project is
// checked against it; one missing from both is an error naming it.
func TestProjectTheCacheHasNotSeen(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := sollv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	fresh := &sollv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "fresh", Namespace: "soll"}, Spec: sollv1.ProjectSpec{Description: "created a moment ago"}}
	cache := fake.NewClientBuilder().WithScheme(scheme).Build()
	api := fake.NewClientBuilder().WithScheme(scheme).WithObjects(fresh).Build()
	app := &sollv1.Application{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "soll"}, Spec: sollv1.ApplicationSpec{Project: "fresh"}}

	p := &Pipeline{Client: cache}
	if _, err := p.project(context.Background(), app); err == nil || !strings.Contains(err.Error(), "Project fresh does not exist") {
		t.Fatalf("without an API reader: %v, want the Project reported missing", err)
	}
	p.APIReader = api
	got, err := p.project(context.Background(), app)
	if err != nil || got.Spec.Description != "created a moment ago" {
		t.Fatalf("with an API reader: %+v, %v", got, err)
	}
	app.Spec.Project = "nowhere"
	if _, err := p.project(context.Background(), app); err == nil || !strings.Contains(err.Error(), "Project nowhere does not exist") {
		t.Fatalf("a Project missing everywhere: %v", err)
	}
}
