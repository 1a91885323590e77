package server

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
)

// TestLiveObject checks GET .../live: an object of the app's tree as it
// is in the cluster, without managedFields, a Secret's data masked; an
// object outside the tree, or gone, is not served; a server without the
// render pipeline (which knows what to mask) serves none.
func TestLiveObject(t *testing.T) {
	const secret = "live-secret-value-5521"
	h := newHarness(t, func(o *Options) {
		o.Manifests = func(context.Context, *sollv1.Application, []string) (*appstate.Manifests, error) {
			return &appstate.Manifests{}, nil
		}
	})
	ctx := context.Background()
	dest := h.env.Namespace(t)
	for _, name := range []string{"settings", "unrelated"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: dest}, Data: map[string]string{"mode": "fast"}}
		if _, err := h.env.Kube.CoreV1().ConfigMaps(dest).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: dest}, Data: map[string][]byte{"password": []byte(secret)}}
	if _, err := h.env.Kube.CoreV1().Secrets(dest).Create(ctx, s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.createApp("web", "default", dest, nil)
	h.setStatus("web", func(s *sollv1.ApplicationStatus) {
		s.Resources = []sollv1.ResourceStatus{
			{Version: "v1", Kind: "ConfigMap", Namespace: dest, Name: "settings", Status: sollv1.SyncStatusSynced},
			{Version: "v1", Kind: "Secret", Namespace: dest, Name: "creds", Status: sollv1.SyncStatusSynced},
			{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: dest, Name: "gone", Status: sollv1.SyncStatusOutOfSync},
		}
	})
	live := func(kind, name string) string {
		return "/api/v1/applications/web/live?" + url.Values{"kind": {kind}, "name": {name}, "namespace": {dest}}.Encode()
	}
	var obj map[string]any
	h.eventually(10*time.Second, "the app's status", func() bool {
		status, _ := h.do(http.MethodGet, live("ConfigMap", "settings"), "admin-token", nil)
		return status == http.StatusOK
	})
	h.must(http.MethodGet, live("ConfigMap", "settings"), nil, http.StatusOK, &obj)
	meta, _ := obj["metadata"].(map[string]any)
	if data, _ := obj["data"].(map[string]any); data["mode"] != "fast" || meta["name"] != "settings" || meta["managedFields"] != nil {
		t.Errorf("live ConfigMap: %v", obj)
	}
	_, body := h.do(http.MethodGet, live("Secret", "creds"), "admin-token", nil)
	if strings.Contains(string(body), secret) || strings.Contains(string(body), base64.StdEncoding.EncodeToString([]byte(secret))) || !strings.Contains(string(body), "redacted") {
		t.Errorf("live Secret is not masked: %s", body)
	}
	for path, want := range map[string]int{
		live("ConfigMap", "unrelated"): http.StatusNotFound,
		"/api/v1/applications/web/live?" + url.Values{"group": {"apps"}, "kind": {"Deployment"}, "name": {"gone"}, "namespace": {dest}}.Encode(): http.StatusNotFound,
		"/api/v1/applications/web/live?name=settings": http.StatusBadRequest,
	} {
		status, b := h.do(http.MethodGet, path, "admin-token", nil)
		code, field := "NotFound", ""
		if want == http.StatusBadRequest {
			code, field = "Invalid", "kind"
		}
		h.wantError(status, b, want, code, field)
	}

	bare := newHarness(t)
	bare.createApp("web", "default", dest, nil)
	bare.setStatus("web", func(s *sollv1.ApplicationStatus) {
		s.Resources = []sollv1.ResourceStatus{{Version: "v1", Kind: "Secret", Namespace: dest, Name: "creds"}}
	})
	bare.eventually(10*time.Second, "the refusal without a render pipeline", func() bool {
		status, _ := bare.do(http.MethodGet, live("Secret", "creds"), "admin-token", nil)
		return status == http.StatusNotImplemented
	})
}
