package server

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

func TestProjectsClustersRepositories(t *testing.T) {
	h := newHarness(t)
	for _, name := range []string{"alpha", "beta"} {
		body := map[string]any{"metadata": map[string]any{"name": name}, "spec": map[string]any{"description": name}}
		h.must(http.MethodPost, "/api/v1/projects", body, http.StatusCreated, nil)
	}
	var proj sollv1.Project
	h.must(http.MethodPut, "/api/v1/projects/alpha", map[string]any{"spec": map[string]any{"description": "changed"}}, http.StatusOK, &proj)
	if proj.Spec.Description != "changed" {
		t.Errorf("put project: %+v", proj.Spec)
	}
	h.eventually(10*time.Second, "both projects in the cache", func() bool {
		var l struct{ Total int }
		h.must(http.MethodGet, "/api/v1/projects", nil, http.StatusOK, &l)
		return l.Total == 2+len(harnessProjects)
	})
	status, b := h.do(http.MethodGet, "/api/v1/projects", "alice-token", nil)
	if status != http.StatusOK || !strings.Contains(string(b), `"team-a"`) || strings.Contains(string(b), `"beta"`) {
		t.Errorf("alice lists projects: %d %s", status, b)
	}
	status, b = h.do(http.MethodDelete, "/api/v1/projects/beta", "alice-token", nil)
	h.wantError(status, b, http.StatusForbidden, "Forbidden", "")
	h.must(http.MethodDelete, "/api/v1/projects/beta", nil, http.StatusNoContent, nil)
	status, b = h.do(http.MethodGet, "/api/v1/projects/beta", "admin-token", nil)
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")

	var clusters struct{ Items []apitypes.Cluster }
	h.must(http.MethodGet, "/api/v1/clusters", nil, http.StatusOK, &clusters)
	if len(clusters.Items) != 1 || !reflect.DeepEqual(clusters.Items[0], apitypes.Cluster{Name: "in-cluster", Server: InClusterServer, InCluster: true, ClusterResources: true}) {
		t.Errorf("clusters: %+v", clusters)
	}

	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: h.ns, Labels: map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeRepository}},
		Data:       map[string][]byte{"url": []byte("https://git.example.com/apps.git"), "username": []byte("bot"), "password": []byte("hunter2-secret")},
	}
	if _, err := h.env.Kube.CoreV1().Secrets(h.ns).Create(context.Background(), sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	status, b = h.do(http.MethodGet, "/api/v1/repositories", "admin-token", nil)
	if status != http.StatusOK || !strings.Contains(string(b), `"hasPassword":true`) || !strings.Contains(string(b), `"username":"bot"`) || strings.Contains(string(b), "hunter2") {
		t.Errorf("repositories: %d %s", status, b)
	}
	var settings apitypes.Settings
	h.must(http.MethodGet, "/api/v1/settings", nil, http.StatusOK, &settings)
	if settings.Namespace != h.ns || settings.MaxBodyBytes != DefaultMaxBodyBytes {
		t.Errorf("settings: %+v", settings)
	}
}
