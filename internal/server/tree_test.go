package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

func TestTreeAndEvents(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	dest := h.env.Namespace(t)
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: dest},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1"}}},
			},
		},
	}
	if _, err := h.env.Kube.AppsV1().Deployments(dest).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// An unrelated pod in the same namespace stays out of the tree.
	stray := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: dest}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "c"}}}}
	if _, err := h.env.Kube.CoreV1().Pods(dest).Create(ctx, stray, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.createApp("web", "default", dest, nil)
	h.setStatus("web", func(s *sollv1.ApplicationStatus) {
		s.Resources = []sollv1.ResourceStatus{
			{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: dest, Name: "web", Status: sollv1.SyncStatusSynced},
			{Version: "v1", Kind: "Service", Namespace: dest, Name: "web", Status: sollv1.SyncStatusOutOfSync},
		}
	})
	app := &corev1.ObjectReference{Kind: "Application", APIVersion: "soll.dev/v1alpha1", Namespace: h.ns, Name: "web"}
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "web-", Namespace: h.ns}, InvolvedObject: *app,
		Type: corev1.EventTypeNormal, Reason: "OperationStarted", Message: "sync started", LastTimestamp: metav1.Now(), Count: 1,
	}
	if _, err := h.env.Kube.CoreV1().Events(h.ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var tree apitypes.Tree
	h.eventually(30*time.Second, "a pod of the deployment in the tree", func() bool {
		h.must(http.MethodGet, "/api/v1/applications/web/tree", nil, http.StatusOK, &tree)
		for _, n := range tree.Nodes {
			if n.Kind == "Pod" {
				return true
			}
		}
		return false
	})
	kinds := map[string]apitypes.TreeNode{}
	for _, n := range tree.Nodes {
		kinds[n.Kind] = n
		if n.Name == "stray" {
			t.Errorf("the tree holds an unrelated pod")
		}
	}
	if rs := kinds["ReplicaSet"]; len(rs.ParentRefs) != 1 || rs.ParentRefs[0].Kind != "Deployment" || rs.Managed {
		t.Errorf("replica set node: %+v", rs)
	}
	if pod := kinds["Pod"]; len(pod.ParentRefs) != 1 || pod.ParentRefs[0].Kind != "ReplicaSet" || pod.Info["phase"] == "" {
		t.Errorf("pod node: %+v", pod)
	}
	if d := kinds["Deployment"]; !d.Managed || d.Status != sollv1.SyncStatusSynced {
		t.Errorf("deployment node: %+v", d)
	}

	var diff apitypes.Diff
	h.must(http.MethodGet, "/api/v1/applications/web/diff", nil, http.StatusOK, &diff)
	if len(diff.Resources) != 1 || diff.Resources[0].Kind != "Service" || diff.Note == "" {
		t.Errorf("diff: %+v", diff)
	}

	var events struct{ Items []apitypes.Event }
	h.eventually(30*time.Second, "events of the app and its deployment", func() bool {
		h.must(http.MethodGet, "/api/v1/applications/web/events", nil, http.StatusOK, &events)
		var ofApp, ofDeployment bool
		for _, e := range events.Items {
			ofApp = ofApp || e.InvolvedObject.Kind == "Application" && e.Reason == "OperationStarted"
			ofDeployment = ofDeployment || e.InvolvedObject.Kind == "Deployment" && e.InvolvedObject.Name == "web"
		}
		return ofApp && ofDeployment
	})
}

// TestMiddleware checks the answers that need no cluster: panics, unknown
// routes and methods.
func TestMiddleware(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil)), mux: http.NewServeMux()}
	s.mux.Handle("GET /api/v1/panic", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(errors.New("secret detail")) }))
	s.mux.HandleFunc("/", s.noRoute)
	ts := httptest.NewServer(s.recoverPanics(s.accessLog(s.mux)))
	defer ts.Close()
	for _, tt := range []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/api/v1/panic", http.StatusInternalServerError, "Internal"},
		{http.MethodPost, "/api/v1/panic", http.StatusMethodNotAllowed, "MethodNotAllowed"},
		{http.MethodGet, "/api/v1/nothing", http.StatusNotFound, "NotFound"},
	} {
		req, _ := http.NewRequest(tt.method, ts.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e Error
		if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != tt.status || e.Code != tt.code || strings.Contains(string(b), "secret detail") {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, resp.StatusCode, b)
		}
	}
}
