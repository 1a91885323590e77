package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// clusterToken is the bearer token of the tests' clusters; no answer,
// error, audit entry, log line or Event may show it.
const clusterToken = "cluster-bearer-token-5e2a9f"

// testCertPair returns a self-signed certificate and its key, as PEM.
func testCertPair(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "soll-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func clusterBody(name, server string) map[string]any {
	return map[string]any{"name": name, "server": server, "credentials": map[string]any{"token": clusterToken}}
}

// noSecretIn fails when any of texts holds one of secrets.
func noSecretIn(t *testing.T, what string, texts []string, secrets ...string) {
	t.Helper()
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows a credential: %s", what, text)
			}
		}
	}
}

func (h *harness) getClusterObj(name string) (*sollv1.Cluster, error) {
	c := &sollv1.Cluster{}
	return c, h.env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: name}, c)
}

func (h *harness) getSecret(name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	return s, h.env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: name}, s)
}

// TestClusterValidation sends bad registrations: each is refused with an
// error that names the field, and none is saved.
func TestClusterValidation(t *testing.T) {
	h := newHarness(t)
	certPEM, keyPEM := testCertPair(t)
	_, otherKey := testCertPair(t)
	const server = "https://kube-a.example:6443"
	with := func(mutate func(b map[string]any)) map[string]any {
		b := clusterBody("a", server)
		mutate(b)
		return b
	}
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"unknown field", with(func(b map[string]any) { b["bearerToken"] = "x" }), "bearerToken"},
		{"bad name", with(func(b map[string]any) { b["name"] = "Kube A" }), "name"},
		{"in-cluster name", with(func(b map[string]any) { b["name"] = sollv1.InClusterName }), "name"},
		{"no server", with(func(b map[string]any) { delete(b, "server") }), "server"},
		{"http server", with(func(b map[string]any) { b["server"] = "http://kube-a.example" }), "server"},
		{"server with credentials", with(func(b map[string]any) { b["server"] = "https://u:" + clusterToken + "@kube-a.example" }), "server"},
		{"in-cluster server", with(func(b map[string]any) { b["server"] = InClusterServer }), "server"},
		{"in-cluster server by another name", with(func(b map[string]any) { b["server"] = "https://kubernetes.default.svc.cluster.local:443" }), "server"},
		{"CA that is no PEM", with(func(b map[string]any) { b["caData"] = "not a certificate" }), "caData"},
		{"bad TLS server name", with(func(b map[string]any) { b["tlsServerName"] = "kube a" }), "tlsServerName"},
		{"bad proxy", with(func(b map[string]any) { b["proxyURL"] = "ftp://proxy.example" }), "proxyURL"},
		{"bad namespace", with(func(b map[string]any) { b["namespaces"] = []string{"apps", "Apps_2"} }), "namespaces[1]"},
		{"namespace twice", with(func(b map[string]any) { b["namespaces"] = []string{"apps", "apps"} }), "namespaces[1]"},
		{"bad label", with(func(b map[string]any) { b["labels"] = map[string]string{"env": "not ok!"} }), "labels"},
		{"no credentials", with(func(b map[string]any) { b["credentials"] = map[string]any{} }), "credentials.token"},
		{"two kinds", with(func(b map[string]any) {
			b["credentials"] = map[string]any{"token": clusterToken, "exec": map[string]any{"command": "kubelogin"}}
		}), "credentials"},
		{"token with a space", with(func(b map[string]any) { b["credentials"] = map[string]any{"token": "Bearer " + clusterToken} }), "credentials.token"},
		{"cert without key", with(func(b map[string]any) { b["credentials"] = map[string]any{"certData": certPEM} }), "credentials.keyData"},
		{"key without cert", with(func(b map[string]any) { b["credentials"] = map[string]any{"keyData": keyPEM} }), "credentials.certData"},
		{"cert and another key", with(func(b map[string]any) { b["credentials"] = map[string]any{"certData": certPEM, "keyData": otherKey} }), "credentials.certData"},
		{"exec without command", with(func(b map[string]any) {
			b["credentials"] = map[string]any{"exec": map[string]any{"args": []string{"x"}}}
		}), "credentials.exec.command"},
		{"exec with a bad apiVersion", with(func(b map[string]any) {
			b["credentials"] = map[string]any{"exec": map[string]any{"command": "kubelogin", "apiVersion": "v2"}}
		}), "credentials.exec.apiVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.in(t)
			status, b := h.do(http.MethodPost, "/api/v1/clusters", "admin-token", tt.body)
			e := h.wantError(status, b, http.StatusBadRequest, "Invalid", tt.field)
			noSecretIn(t, "the error", []string{string(b)}, clusterToken, keyPEM, otherKey)
			if strings.Contains(e.Message, "internal error") {
				t.Errorf("message says nothing useful: %s", e.Message)
			}
		})
	}
	var list apitypes.List[apitypes.Cluster]
	h.must(http.MethodGet, "/api/v1/clusters", nil, http.StatusOK, &list)
	if len(list.Items) != 1 || !list.Items[0].InCluster {
		t.Errorf("refused registrations saved clusters: %+v", list.Items)
	}
	var secrets corev1.SecretList
	if err := h.env.Client.List(context.Background(), &secrets, client.InNamespace(h.ns)); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		if s.Labels[sollv1.SecretTypeLabel] == sollv1.SecretTypeCluster {
			t.Errorf("refused registrations left Secret %s", s.Name)
		}
	}
}

// TestClusterLifecycle registers a cluster with a token, reads it back
// without the token, refuses duplicates, changes its settings, switches
// its credentials between token, certificate and exec, and deletes it
// while an Application still deploys there; the token appears in no
// answer, audit entry, log line or Event.
func TestClusterLifecycle(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	certPEM, keyPEM := testCertPair(t)
	var answers []string
	call := func(method, path string, body any, want int, out any) {
		t.Helper()
		status, b := h.do(method, path, "admin-token", body)
		answers = append(answers, string(b))
		if status != want {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
		}
		if out != nil {
			reflect.ValueOf(out).Elem().SetZero() // Unmarshal would merge
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatal(err)
			}
		}
	}
	refused := func(method, path string, body any, wantStatus int, code, field string) Error {
		t.Helper()
		status, b := h.do(method, path, "admin-token", body)
		answers = append(answers, string(b))
		return h.wantError(status, b, wantStatus, code, field)
	}

	body := clusterBody("kube-a", "https://kube-a.example:6443")
	body["caData"], body["tlsServerName"], body["proxyURL"] = certPEM, "api.kube-a.example", "socks5://proxy.example:1080"
	body["namespaces"], body["labels"] = []string{"apps", "web"}, map[string]string{"env": "prod"}
	var got apitypes.Cluster
	call(http.MethodPost, "/api/v1/clusters", body, http.StatusCreated, &got)
	want := apitypes.Cluster{
		Name: "kube-a", Server: "https://kube-a.example:6443", Labels: map[string]string{"env": "prod"}, Namespaces: []string{"apps", "web"},
		ClusterResources: false, HasCAData: true, TLSServerName: "api.kube-a.example", ProxyURL: "socks5://proxy.example:1080",
		Credentials: "token", SecretName: "cluster-kube-a",
	}
	if !equalJSON(got, want) {
		t.Fatalf("created: %+v\nwant %+v", got, want)
	}
	c, err := h.getClusterObj("kube-a")
	if err != nil {
		t.Fatal(err)
	}
	if c.Spec.SecretName != "cluster-kube-a" || c.Spec.CAData != certPEM || c.Spec.Exec != nil || c.Spec.ClusterResources != nil {
		t.Errorf("Cluster spec: %+v", c.Spec)
	}
	sec, err := h.getSecret("cluster-kube-a")
	if err != nil {
		t.Fatal(err)
	}
	if sec.Labels[sollv1.SecretTypeLabel] != sollv1.SecretTypeCluster || string(sec.Data["token"]) != clusterToken ||
		len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].UID != c.UID || sec.OwnerReferences[0].Kind != "Cluster" {
		t.Errorf("Secret: labels %v, keys %d, owners %+v", sec.Labels, len(sec.Data), sec.OwnerReferences)
	}

	// Duplicates: the same name, the same server however spelt; the
	// cluster soll runs in cannot be registered nor changed.
	e := refused(http.MethodPost, "/api/v1/clusters", clusterBody("kube-a", "https://kube-z.example"), http.StatusConflict, "AlreadyExists", "name")
	if !strings.Contains(e.Message, "cluster kube-a exists already") {
		t.Errorf("duplicate name: %s", e.Message)
	}
	e = refused(http.MethodPost, "/api/v1/clusters", clusterBody("kube-b", "https://KUBE-A.example:6443/"), http.StatusConflict, "Conflict", "server")
	if !strings.Contains(e.Message, "cluster kube-a has server https://kube-a.example:6443 already") {
		t.Errorf("duplicate server: %s", e.Message)
	}
	refused(http.MethodPatch, "/api/v1/clusters/in-cluster", map[string]any{"labels": map[string]string{"a": "b"}}, http.StatusBadRequest, "Invalid", "name")
	refused(http.MethodDelete, "/api/v1/clusters/in-cluster", nil, http.StatusBadRequest, "Invalid", "name")
	refused(http.MethodGet, "/api/v1/clusters/nope", nil, http.StatusNotFound, "NotFound", "")
	// A Secret of that name that soll did not make is not overwritten.
	if err := h.env.Client.Create(ctx, &corev1.Secret{ObjectMeta: objectMeta("cluster-kube-c", h.ns), StringData: map[string]string{"x": "y"}}); err != nil {
		t.Fatal(err)
	}
	refused(http.MethodPost, "/api/v1/clusters", clusterBody("kube-c", "https://kube-c.example"), http.StatusConflict, "Conflict", "name")
	if _, err := h.getClusterObj("kube-c"); !apierrors.IsNotFound(err) {
		t.Errorf("a refused registration left its Cluster: %v", err)
	}

	// The list: in-cluster first, then by name; the status the
	// controller writes shows.
	call(http.MethodPost, "/api/v1/clusters", map[string]any{"name": "edge", "server": "https://10.0.0.9", "credentials": map[string]any{"certData": certPEM, "keyData": keyPEM}}, http.StatusCreated, &got)
	if got.Credentials != "certificate" || !got.ClusterResources {
		t.Errorf("certificate cluster: %+v", got)
	}
	c.Status = sollv1.ClusterStatus{
		Conditions:    []metav1.Condition{{Type: sollv1.ClusterReachable, Status: metav1.ConditionFalse, Reason: sollv1.ReasonClusterUnreachable, Message: "dial tcp: connection refused", LastTransitionTime: metav1.Now()}},
		ServerVersion: "v1.34.1", LastContact: &metav1.Time{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, Applications: 3, WatchedKinds: 7, WatchedObjects: 42,
	}
	if err := h.env.Client.Status().Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	var list apitypes.List[apitypes.Cluster]
	call(http.MethodGet, "/api/v1/clusters", nil, http.StatusOK, &list)
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Name)
	}
	if !slices.Equal(names, []string{"in-cluster", "edge", "kube-a"}) {
		t.Fatalf("list: %v", names)
	}
	st := list.Items[2].Status
	if st == nil || st.Reachable != "False" || st.Message != "dial tcp: connection refused" || st.ServerVersion != "v1.34.1" ||
		st.LastContact == nil || !st.LastContact.Equal(c.Status.LastContact.Time) || st.Applications != 3 || st.WatchedKinds != 7 || st.WatchedObjects != 42 {
		t.Errorf("status: %+v", st)
	}
	if list.Items[1].Status != nil {
		t.Errorf("a cluster the controller has not seen has a status: %+v", list.Items[1].Status)
	}
	// A Cluster whose Secret is gone says so.
	edgeSecret, err := h.getSecret("cluster-edge")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.env.Client.Delete(ctx, edgeSecret); err != nil {
		t.Fatal(err)
	}
	call(http.MethodGet, "/api/v1/clusters/edge", nil, http.StatusOK, &got)
	if got.Credentials != "missing" || got.SecretName != "cluster-edge" {
		t.Errorf("a cluster without its Secret: %+v", got)
	}
	call(http.MethodGet, "/api/v1/clusters/in-cluster", nil, http.StatusOK, &got)
	if !got.InCluster || got.Server != InClusterServer {
		t.Errorf("in-cluster: %+v", got)
	}

	// Settings change; the server may not become another cluster's.
	refused(http.MethodPatch, "/api/v1/clusters/kube-a", map[string]any{"server": "https://10.0.0.9:443/"}, http.StatusConflict, "Conflict", "server")
	refused(http.MethodPatch, "/api/v1/clusters/kube-a", map[string]any{"namespaces": []string{"bad_ns"}}, http.StatusBadRequest, "Invalid", "namespaces[0]")
	call(http.MethodPatch, "/api/v1/clusters/kube-a", map[string]any{
		"server": "https://kube-a2.example", "namespaces": []string{}, "clusterResources": true, "labels": map[string]string{"env": "staging"}, "proxyURL": "",
	}, http.StatusOK, &got)
	if got.Server != "https://kube-a2.example" || len(got.Namespaces) != 0 || !got.ClusterResources || got.Labels["env"] != "staging" || got.ProxyURL != "" ||
		got.TLSServerName != "api.kube-a.example" || !got.HasCAData || got.Credentials != "token" {
		t.Errorf("patched: %+v", got)
	}
	if c, _ = h.getClusterObj("kube-a"); c.Spec.Server != "https://kube-a2.example" || c.Spec.ProxyURL != "" || c.Labels["env"] != "staging" {
		t.Errorf("patched Cluster: %+v %v", c.Spec, c.Labels)
	}

	// Credentials: token to certificate (the Secret's data replaced), to
	// exec (the Secret deleted), back to a token (a new Secret).
	call(http.MethodPut, "/api/v1/clusters/kube-a/credentials", map[string]any{"certData": certPEM, "keyData": keyPEM}, http.StatusOK, &got)
	if sec, err = h.getSecret("cluster-kube-a"); err != nil || got.Credentials != "certificate" || len(sec.Data["token"]) != 0 || string(sec.Data["tls.key"]) != keyPEM {
		t.Errorf("to a certificate: %+v (%v)", got, err)
	}
	exec := map[string]any{"exec": map[string]any{"command": "/usr/local/bin/kube-token", "args": []string{"--cluster", "a"}, "env": []map[string]string{{"name": "REGION", "value": "eu"}}}}
	call(http.MethodPut, "/api/v1/clusters/kube-a/credentials", exec, http.StatusOK, &got)
	if got.Credentials != "exec" || got.ExecCommand != "/usr/local/bin/kube-token" || got.SecretName != "" {
		t.Errorf("to exec: %+v", got)
	}
	if _, err := h.getSecret("cluster-kube-a"); !apierrors.IsNotFound(err) {
		t.Errorf("the Secret of the previous credentials is still there: %v", err)
	}
	if c, _ = h.getClusterObj("kube-a"); c.Spec.Exec == nil || c.Spec.Exec.Env[0].Value != "eu" || c.Spec.SecretName != "" {
		t.Errorf("exec Cluster: %+v", c.Spec)
	}
	call(http.MethodPut, "/api/v1/clusters/kube-a/credentials", map[string]any{"token": clusterToken}, http.StatusOK, &got)
	if sec, err = h.getSecret("cluster-kube-a"); err != nil || string(sec.Data["token"]) != clusterToken || got.Credentials != "token" || !ownedBy(sec, c) {
		t.Errorf("back to a token: %+v (%v)", got, err)
	}
	if c, _ = h.getClusterObj("kube-a"); c.Spec.Exec != nil || c.Spec.SecretName != "cluster-kube-a" {
		t.Errorf("token Cluster: %+v", c.Spec)
	}
	refused(http.MethodPut, "/api/v1/clusters/kube-a/credentials", map[string]any{}, http.StatusBadRequest, "Invalid", "credentials.token")

	// Delete: the app that deploys there stays, and is counted.
	app := h.createApp("web", "team-a", "apps", nil)
	app.Spec.Destination = sollv1.ApplicationDestination{Name: "kube-a", Namespace: "apps"}
	if err := h.env.Client.Update(ctx, app); err != nil {
		t.Fatal(err)
	}
	h.eventually(10*time.Second, "the app in the cache", func() bool {
		var a sollv1.Application
		return h.opts.Client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "web"}, &a) == nil && a.Spec.Destination.Name == "kube-a"
	})
	var deleted apitypes.ClusterDeleted
	call(http.MethodDelete, "/api/v1/clusters/kube-a", nil, http.StatusOK, &deleted)
	if deleted != (apitypes.ClusterDeleted{Name: "kube-a", Applications: 1}) {
		t.Errorf("deleted: %+v", deleted)
	}
	if _, err := h.getClusterObj("kube-a"); !apierrors.IsNotFound(err) {
		t.Errorf("Cluster after delete: %v", err)
	}
	if _, err := h.getSecret("cluster-kube-a"); !apierrors.IsNotFound(err) {
		t.Errorf("Secret after delete: %v", err)
	}
	if _, err := h.getSecret("cluster-kube-c"); err != nil {
		t.Errorf("a Secret soll did not make was touched: %v", err)
	}
	var a sollv1.Application
	if err := h.env.Client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "web"}, &a); err != nil {
		t.Errorf("the app of the deleted cluster: %v", err)
	}
	refused(http.MethodDelete, "/api/v1/clusters/kube-a", nil, http.StatusNotFound, "NotFound", "")

	// The audit log has every change, by server URL; no credential is
	// anywhere.
	var audit apitypes.AuditList
	call(http.MethodGet, "/api/v1/audit", nil, http.StatusOK, &audit)
	var msgs []string
	for _, e := range audit.Items {
		if e.Resource == resClusters {
			msgs = append(msgs, e.Message)
		}
	}
	for _, w := range []string{
		"admin registered cluster https://kube-a.example:6443 (cluster kube-a): created",
		"admin tried to register cluster https://kube-z.example (cluster kube-a): refused (AlreadyExists)",
		"admin updated cluster https://kube-a.example:6443 (cluster kube-a): done",
		"admin replaced the credentials of cluster https://kube-a2.example (cluster kube-a): done",
		"admin deleted cluster https://kube-a2.example (cluster kube-a): done",
	} {
		if !slices.Contains(msgs, w) {
			t.Errorf("audit log lacks %q:\n%s", w, strings.Join(msgs, "\n"))
		}
	}
	var events eventsv1.EventList
	if err := h.env.Client.List(ctx, &events, client.InNamespace(h.ns)); err != nil {
		t.Fatal(err)
	}
	var eventText []string
	for _, ev := range events.Items {
		eventText = append(eventText, ev.Note)
	}
	noSecretIn(t, "an answer", answers, clusterToken, keyPEM)
	noSecretIn(t, "the audit log", msgs, clusterToken, keyPEM)
	noSecretIn(t, "an Event", eventText, clusterToken, keyPEM)
	noSecretIn(t, "the log", []string{h.log.String()}, clusterToken, keyPEM)
}

// equalJSON compares two values as their JSON.
func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestClusterRBAC: a caller sees only the clusters whose server it may
// get, and may change none without the right; a cluster it may not get is
// not found.
func TestClusterRBAC(t *testing.T) {
	rules := append(slices.Clone(testRules),
		rule{"alice", resClusters, actGet, "https://kube-a.example*"},
		rule{"erin", resClusters, actGet, "*"},
		rule{"erin", resClusters, actUpdate, "https://kube-a.example*"},
	)
	h := newHarness(t, func(o *Options) { o.RBAC = rules })
	h.must(http.MethodPost, "/api/v1/clusters", clusterBody("kube-a", "https://kube-a.example"), http.StatusCreated, nil)
	h.must(http.MethodPost, "/api/v1/clusters", clusterBody("kube-b", "https://kube-b.example"), http.StatusCreated, nil)

	names := func(token string) []string {
		status, b := h.do(http.MethodGet, "/api/v1/clusters", token, nil)
		var l apitypes.List[apitypes.Cluster]
		if status != http.StatusOK || !decodeInto(b, &l) {
			t.Fatalf("list as %s: %d %s", token, status, b)
		}
		var out []string
		for _, c := range l.Items {
			out = append(out, c.Name)
		}
		return out
	}
	if got := names("alice-token"); !slices.Equal(got, []string{"kube-a"}) {
		t.Errorf("alice sees %v", got)
	}
	if got := names("erin-token"); !slices.Equal(got, []string{"in-cluster", "kube-a", "kube-b"}) {
		t.Errorf("erin sees %v", got)
	}
	if got := names("dave-token"); len(got) != 0 {
		t.Errorf("dave sees %v", got)
	}
	status, b := h.do(http.MethodGet, "/api/v1/clusters/kube-b", "alice-token", nil)
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")
	status, b = h.do(http.MethodGet, "/api/v1/clusters/in-cluster", "alice-token", nil)
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")
	status, _ = h.do(http.MethodGet, "/api/v1/clusters/kube-a", "alice-token", nil)
	if status != http.StatusOK {
		t.Errorf("alice may not get kube-a: %d", status)
	}
	for _, rq := range []struct {
		token, method, path string
		body                any
	}{
		{"alice-token", http.MethodPost, "/api/v1/clusters", clusterBody("kube-c", "https://kube-c.example")},
		{"alice-token", http.MethodPatch, "/api/v1/clusters/kube-a", map[string]any{"labels": map[string]string{}}},
		{"alice-token", http.MethodPut, "/api/v1/clusters/kube-a/credentials", map[string]any{"token": "other-token"}},
		{"alice-token", http.MethodDelete, "/api/v1/clusters/kube-a", nil},
		{"erin-token", http.MethodDelete, "/api/v1/clusters/kube-a", nil},
		{"erin-token", http.MethodPatch, "/api/v1/clusters/kube-b", map[string]any{"labels": map[string]string{}}},
		// Moving kube-a to a server erin may not update is refused too.
		{"erin-token", http.MethodPatch, "/api/v1/clusters/kube-a", map[string]any{"server": "https://kube-z.example"}},
	} {
		status, b := h.do(rq.method, rq.path, rq.token, rq.body)
		h.wantError(status, b, http.StatusForbidden, "Forbidden", "")
	}
	status, b = h.do(http.MethodPatch, "/api/v1/clusters/kube-b", "dave-token", map[string]any{"labels": map[string]string{}})
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")
	status, b = h.do(http.MethodPatch, "/api/v1/clusters/kube-a", "erin-token", map[string]any{"labels": map[string]string{"team": "a"}})
	if status != http.StatusOK {
		t.Errorf("erin may not update kube-a: %d %s", status, b)
	}
	var list sollv1.ClusterList
	if err := h.env.Client.List(context.Background(), &list, client.InNamespace(h.ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Errorf("refused requests changed the clusters: %d of them", len(list.Items))
	}
}

// failingClient fails the creation of Secrets and the update of
// Clusters while told to, as an API server that refuses them would.
type failingClient struct {
	client.Client
	secrets, clusters *atomic.Bool
}

var errInjected = errors.New("injected failure")

func (c failingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if _, ok := obj.(*corev1.Secret); ok && c.secrets.Load() {
		return errInjected
	}
	return c.Client.Create(ctx, obj, opts...)
}

func (c failingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if _, ok := obj.(*sollv1.Cluster); ok && c.clusters.Load() {
		return errInjected
	}
	return c.Client.Update(ctx, obj, opts...)
}

// TestClusterRollback: when the second step of a change fails, the first
// is undone: a registration whose Secret cannot be made leaves no
// Cluster, and a switch to a token whose Cluster cannot be updated
// leaves no Secret.
func TestClusterRollback(t *testing.T) {
	var failSecrets, failClusters atomic.Bool
	h := newHarness(t, func(o *Options) {
		o.Client = failingClient{Client: o.Client, secrets: &failSecrets, clusters: &failClusters}
	})
	failSecrets.Store(true)
	status, b := h.do(http.MethodPost, "/api/v1/clusters", "admin-token", clusterBody("kube-a", "https://kube-a.example"))
	h.wantError(status, b, http.StatusInternalServerError, "Internal", "")
	if _, err := h.getClusterObj("kube-a"); !apierrors.IsNotFound(err) {
		t.Fatalf("the Cluster of a failed registration is still there: %v", err)
	}
	failSecrets.Store(false)
	exec := map[string]any{"name": "kube-a", "server": "https://kube-a.example", "credentials": map[string]any{"exec": map[string]any{"command": "kube-token"}}}
	h.must(http.MethodPost, "/api/v1/clusters", exec, http.StatusCreated, nil)
	failClusters.Store(true)
	status, b = h.do(http.MethodPut, "/api/v1/clusters/kube-a/credentials", "admin-token", map[string]any{"token": clusterToken})
	h.wantError(status, b, http.StatusInternalServerError, "Internal", "")
	if _, err := h.getSecret("cluster-kube-a"); !apierrors.IsNotFound(err) {
		t.Errorf("the Secret of a failed switch is still there: %v", err)
	}
	c, err := h.getClusterObj("kube-a")
	if err != nil || c.Spec.Exec == nil || c.Spec.SecretName != "" {
		t.Errorf("the Cluster after a failed switch: %+v (%v)", c.Spec, err)
	}
	noSecretIn(t, "the log", []string{h.log.String()}, clusterToken)
}

// TestClusterDestinationProject: a Project's destination globs match a
// registered cluster by name and by server, whichever way the app names
// it, at the API as in the controller.
func TestClusterDestinationProject(t *testing.T) {
	h := newHarness(t)
	h.must(http.MethodPost, "/api/v1/clusters", clusterBody("prod-eu", "https://prod-eu.example.com:6443"), http.StatusCreated, nil)
	proj := &sollv1.Project{ObjectMeta: objectMeta("eu", h.ns), Spec: sollv1.ProjectSpec{
		SourceRepos:  []string{"*"},
		Destinations: []sollv1.ProjectDestination{{Name: "prod-*", Namespace: "web"}},
	}}
	if err := h.env.Client.Create(context.Background(), proj); err != nil {
		t.Fatal(err)
	}
	app := func(name string, dest map[string]any) map[string]any {
		b := appBody(name, "eu", "web", nil)
		b["spec"].(map[string]any)["destination"] = dest
		return b
	}
	h.must(http.MethodPost, "/api/v1/applications", app("by-server", map[string]any{"server": "https://PROD-EU.example.com:6443/", "namespace": "web"}), http.StatusCreated, nil)
	h.must(http.MethodPost, "/api/v1/applications", app("by-name", map[string]any{"name": "prod-eu", "namespace": "web"}), http.StatusCreated, nil)
	status, b := h.do(http.MethodPost, "/api/v1/applications", "admin-token", app("elsewhere", map[string]any{"server": "https://staging.example.com", "namespace": "web"}))
	e := h.wantError(status, b, http.StatusBadRequest, "Invalid", "spec.destination")
	if !strings.Contains(e.Message, "not permitted in project eu") {
		t.Errorf("an unregistered server outside the project: %q", e.Message)
	}
}
