package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/render/helm/helmtest"
	"soll.dev/internal/repocreds"
	"soll.dev/internal/testenv/gitserver"
)

// repoPassword is the password of the test Git server; no answer, log
// line or Event may show it.
const repoPassword = "git-server-password-8c1f"

func TestRepositoryValidation(t *testing.T) {
	h := newHarness(t)
	key := gitserver.NewKeyPair(t)
	const repo = "https://git.example.com/team/app.git"
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no url", map[string]any{"username": "bot", "password": "x"}, "url"},
		{"url with a password", map[string]any{"url": "https://bot:" + repoPassword + "@git.example.com/app.git", "bearerToken": "t"}, "url"},
		{"url with a user", map[string]any{"url": "https://bot@git.example.com/app.git", "bearerToken": "t"}, "url"},
		{"unknown scheme", map[string]any{"url": "ftp://git.example.com/app.git", "bearerToken": "t"}, "url"},
		{"not a URL", map[string]any{"url": "git.example.com/app", "bearerToken": "t"}, "url"},
		{"bad type", map[string]any{"url": repo, "type": "helm", "bearerToken": "t"}, "type"},
		{"bad name", map[string]any{"url": repo, "name": "Team Repo", "bearerToken": "t"}, "name"},
		{"no credentials for https", map[string]any{"url": repo}, "password"},
		{"no credentials for ssh", map[string]any{"url": "git@git.example.com:team/app.git"}, "sshPrivateKey"},
		{"two kinds", map[string]any{"url": repo, "username": "bot", "password": "x", "bearerToken": "t"}, "bearerToken"},
		{"password without user", map[string]any{"url": repo, "password": "x"}, "username"},
		{"user without password", map[string]any{"url": repo, "username": "bot"}, "password"},
		{"ssh key for https", map[string]any{"url": repo, "sshPrivateKey": string(key.PrivateKeyPEM)}, "sshPrivateKey"},
		{"password for ssh", map[string]any{"url": "ssh://git@git.example.com/app.git", "username": "bot", "password": "x"}, "password"},
		{"broken ssh key", map[string]any{"url": "ssh://git@git.example.com/app.git", "sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"}, "sshPrivateKey"},
		{"known hosts for https", map[string]any{"url": repo, "bearerToken": "t", "sshKnownHosts": "x"}, "sshKnownHosts"},
		{"broken known hosts", map[string]any{"url": "ssh://git@git.example.com/app.git", "sshPrivateKey": string(key.PrivateKeyPEM), "sshKnownHosts": "git.example.com not-a-key"}, "sshKnownHosts"},
		{"client cert without key", map[string]any{"url": repo, "tlsClientCert": "-----BEGIN CERTIFICATE-----\n"}, "tlsClientKey"},
		{"CA that is no PEM", map[string]any{"url": repo, "bearerToken": "t", "caCert": "not a certificate"}, "caCert"},
		{"passphrase without key", map[string]any{"url": repo, "bearerToken": "t", "sshPassphrase": "x"}, "sshPassphrase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.in(t)
			for _, path := range []string{"/api/v1/repositories", "/api/v1/repositories/test"} {
				status, b := h.do(http.MethodPost, path, "admin-token", tt.body)
				h.wantError(status, b, http.StatusBadRequest, "Invalid", tt.field)
				if strings.Contains(string(b), repoPassword) {
					t.Errorf("%s echoes the password: %s", path, b)
				}
			}
		})
	}
	var list struct{ Items []apitypes.Repository }
	h.must(http.MethodGet, "/api/v1/repositories", nil, http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Errorf("refused requests saved repositories: %+v", list.Items)
	}
}

func TestRepositoryCredentials(t *testing.T) {
	h := newHarness(t)
	const repo = "https://git.example.com/team/app.git"
	var saved apitypes.Repository
	h.must(http.MethodPost, "/api/v1/repositories", map[string]any{"url": repo, "username": "bot", "password": repoPassword}, http.StatusCreated, &saved)
	if saved.Type != sollv1.SecretTypeRepository || saved.URL != repo || !saved.HasPassword || saved.Username != "bot" || !strings.HasPrefix(saved.Name, "repo-") {
		t.Fatalf("saved: %+v", saved)
	}
	sec, err := h.env.Kube.CoreV1().Secrets(h.ns).Get(context.Background(), saved.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Labels[sollv1.SecretTypeLabel] != sollv1.SecretTypeRepository || string(sec.Data["url"]) != repo ||
		string(sec.Data["username"]) != "bot" || string(sec.Data["password"]) != repoPassword || len(sec.Data) != 3 {
		t.Errorf("Secret: labels %v, keys %d", sec.Labels, len(sec.Data))
	}
	// The same URL again: refused, unless replacing.
	status, b := h.do(http.MethodPost, "/api/v1/repositories", "admin-token", map[string]any{"url": repo + "/", "bearerToken": "new-token-1"})
	h.wantError(status, b, http.StatusConflict, "AlreadyExists", "name")
	status, b = h.do(http.MethodPost, "/api/v1/repositories", "admin-token", map[string]any{"name": "other", "url": repo, "bearerToken": "new-token-1"})
	h.wantError(status, b, http.StatusConflict, "Conflict", "name")
	h.must(http.MethodPost, "/api/v1/repositories?upsert=true", map[string]any{"url": repo, "bearerToken": "new-token-1"}, http.StatusOK, &saved)
	if !saved.HasBearerToken || saved.HasPassword || saved.Username != "" {
		t.Errorf("replaced: %+v", saved)
	}
	// A template for the same URL is another Secret.
	h.must(http.MethodPost, "/api/v1/repositories", map[string]any{"type": "repo-creds", "url": "https://git.example.com/team", "bearerToken": "team-token"}, http.StatusCreated, nil)

	// Other Secrets of soll's namespace are neither replaced nor deleted.
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "soll-secret", Namespace: h.ns}, Data: map[string][]byte{"server.secretkey": []byte("k")}}
	if err := h.env.Client.Create(context.Background(), other); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	status, b = h.do(http.MethodPost, "/api/v1/repositories?upsert=true", "admin-token", map[string]any{"name": "soll-secret", "url": "https://x.example.com/a", "bearerToken": "t"})
	h.wantError(status, b, http.StatusConflict, "Conflict", "name")
	status, b = h.do(http.MethodDelete, "/api/v1/repositories/soll-secret", "admin-token", nil)
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")
	if _, err := h.env.Kube.CoreV1().Secrets(h.ns).Get(context.Background(), "soll-secret", metav1.GetOptions{}); err != nil {
		t.Errorf("soll-secret: %v", err)
	}

	var list struct{ Items []apitypes.Repository }
	h.must(http.MethodGet, "/api/v1/repositories", nil, http.StatusOK, &list)
	if len(list.Items) != 2 {
		t.Errorf("repositories: %+v", list.Items)
	}
	h.must(http.MethodDelete, "/api/v1/repositories/"+saved.Name, nil, http.StatusNoContent, nil)
	h.must(http.MethodGet, "/api/v1/repositories", nil, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].Type != sollv1.SecretTypeRepoCreds {
		t.Errorf("after delete: %+v", list.Items)
	}
}

// TestRepositoryConnection tests credentials against real Git servers:
// HTTP with basic auth, and SSH with known hosts.
func TestRepositoryConnection(t *testing.T) {
	h := newHarness(t)
	web := gitserver.NewHTTP(t, gitserver.HTTPOptions{Username: "bot", Password: repoPassword})
	head := web.CreateRepo(t, "app", "")
	key := gitserver.NewKeyPair(t)
	sshd := gitserver.NewSSH(t, gitserver.SSHOptions{AuthorizedKeys: []gossh.PublicKey{key.PublicKey}, Repos: web.Repos})
	stranger := gitserver.NewKeyPair(t)

	tests := []struct {
		name string
		body map[string]any
		ok   bool
		want string // in the message
	}{
		{"HTTP, good credentials", map[string]any{"url": web.HTTPURL("app"), "username": "bot", "password": repoPassword}, true, head},
		{"HTTP, wrong password", map[string]any{"url": web.HTTPURL("app"), "username": "bot", "password": "wrong-password-7d2e"}, false, "authentication failed"},
		{"HTTP, unknown repository", map[string]any{"url": web.HTTPURL("nope"), "username": "bot", "password": repoPassword}, false, "not found"},
		{"SSH, good key and known host", map[string]any{"url": sshd.SSHURL("app"), "sshPrivateKey": string(key.PrivateKeyPEM), "sshKnownHosts": sshd.KnownHostsLine()}, true, head},
		{"SSH, key not authorized", map[string]any{"url": sshd.SSHURL("app"), "sshPrivateKey": string(stranger.PrivateKeyPEM), "sshKnownHosts": sshd.KnownHostsLine()}, false, "authentication failed"},
		{"SSH, unknown host key", map[string]any{"url": sshd.SSHURL("app"), "sshPrivateKey": string(key.PrivateKeyPEM)}, false, "not in the known hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.in(t)
			var res apitypes.RepositoryTest
			h.must(http.MethodPost, "/api/v1/repositories/test", tt.body, http.StatusOK, &res)
			if res.OK != tt.ok || !strings.Contains(res.Message, tt.want) || (tt.ok && (res.Revision != head || res.Kind != "git")) {
				t.Errorf("got %+v, want ok %v and a message with %q", res, tt.ok, tt.want)
			}
			if strings.Contains(res.Message, repoPassword) || strings.Contains(res.Message, "PRIVATE KEY") {
				t.Errorf("message shows a secret: %s", res.Message)
			}
		})
	}

	// Saved: the SSH host is trusted through soll's known hosts ConfigMap,
	// as the controller trusts it.
	var saved apitypes.Repository
	h.must(http.MethodPost, "/api/v1/repositories", map[string]any{"url": sshd.SSHURL("app"), "sshPrivateKey": string(key.PrivateKeyPEM)}, http.StatusCreated, &saved)
	var res apitypes.RepositoryTest
	h.must(http.MethodPost, "/api/v1/repositories/"+saved.Name+"/test", nil, http.StatusOK, &res)
	if res.OK || !strings.Contains(res.Message, "not in the known hosts") {
		t.Errorf("saved SSH repository without known hosts: %+v", res)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: repocreds.KnownHostsConfigMap, Namespace: h.ns},
		Data: map[string]string{repocreds.KnownHostsKey: sshd.KnownHostsLine()}}
	if err := h.env.Client.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	h.must(http.MethodPost, "/api/v1/repositories/"+saved.Name+"/test", nil, http.StatusOK, &res)
	if !res.OK || res.Revision != head {
		t.Errorf("saved SSH repository with soll's known hosts: %+v", res)
	}

	// A template is tested with a repository under it.
	h.must(http.MethodPost, "/api/v1/repositories", map[string]any{"name": "creds", "type": "repo-creds", "url": web.URL, "username": "bot", "password": repoPassword}, http.StatusCreated, nil)
	status, b := h.do(http.MethodPost, "/api/v1/repositories/creds/test", "admin-token", nil)
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "url")
	status, b = h.do(http.MethodPost, "/api/v1/repositories/creds/test", "admin-token", map[string]any{"url": "https://elsewhere.example.com/app.git"})
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "url")
	h.must(http.MethodPost, "/api/v1/repositories/creds/test", map[string]any{"url": web.HTTPURL("app")}, http.StatusOK, &res)
	if !res.OK {
		t.Errorf("template: %+v", res)
	}

	// A repository Secret that keeps its credentials in another Secret
	// (as the Helm chart writes them) is listed with that Secret's name
	// and tested with its credentials.
	ctx := context.Background()
	for _, sec := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "bot-login", Namespace: h.ns}, StringData: map[string]string{"username": "bot", "password": repoPassword}},
		{ObjectMeta: metav1.ObjectMeta{Name: "lent", Namespace: h.ns, Labels: map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeRepository}},
			StringData: map[string]string{"url": web.HTTPURL("app"), repocreds.CredentialsSecretKey: "bot-login"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "lent-by-nobody", Namespace: h.ns, Labels: map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeRepository}},
			StringData: map[string]string{"url": web.HTTPURL("app"), repocreds.CredentialsSecretKey: "no-such-login"}},
	} {
		if err := h.env.Client.Create(ctx, sec); err != nil {
			t.Fatal(err)
		}
	}
	var list struct{ Items []apitypes.Repository }
	h.must(http.MethodGet, "/api/v1/repositories", nil, http.StatusOK, &list)
	if i := slices.IndexFunc(list.Items, func(r apitypes.Repository) bool { return r.Name == "lent" }); i < 0 || list.Items[i].CredentialsSecret != "bot-login" {
		t.Errorf("the list does not say where lent's credentials are: %+v", list.Items)
	}
	h.must(http.MethodPost, "/api/v1/repositories/lent/test", nil, http.StatusOK, &res)
	if !res.OK || res.Revision != head {
		t.Errorf("credentials lent by another Secret: %+v", res)
	}
	h.must(http.MethodPost, "/api/v1/repositories/lent-by-nobody/test", nil, http.StatusOK, &res)
	if res.OK || !strings.Contains(res.Message, "names Secret no-such-login, which does not exist") {
		t.Errorf("credentials lent by a missing Secret: %+v", res)
	}
}

// TestChartRepositoryConnection tests credentials against a Helm chart
// repository (found after Git says no) and an OCI registry: what the test
// finds, refused credentials and wrong URLs, saved and unsaved, and that
// no answer shows the password.
func TestChartRepositoryConnection(t *testing.T) {
	h := newHarness(t)
	app, _ := helmtest.PackageChart(t, map[string]string{"Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n"})
	web, _ := helmtest.PackageChart(t, map[string]string{"Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.2.0\n"})
	charts := helmtest.NewRepo(t, true, app, web)
	charts.User, charts.Password = "bot", repoPassword
	reg := helmtest.NewRegistry(t, "robot", repoPassword)
	reg.Push(t, "charts", app)
	const wrong = "wrong-password-41c9"
	helmBody := func(url, password string) map[string]any {
		return map[string]any{"url": url, "username": "bot", "password": password, "caCert": string(helmtest.CAPEM(charts.Server))}
	}
	ociBody := func(url, password string) map[string]any {
		return map[string]any{"url": url, "username": "robot", "password": password, "caCert": string(helmtest.CAPEM(reg.Server))}
	}
	oci := "oci://" + reg.Host
	closed := httptest.NewServer(http.NotFoundHandler())
	unused := "https://" + closed.Listener.Addr().String() + "/charts"
	closed.Close()

	tests := []struct {
		name    string
		body    map[string]any
		kind    string // "" when the test fails
		want    string // in the message
		without string // not in the message, when set
	}{
		{"Helm, good credentials", helmBody(charts.URL, repoPassword), "helm", "connected: Helm repository with 2 charts", ""},
		{"Helm, wrong password", helmBody(charts.URL, wrong), "", "authentication failed for " + charts.URL + ": check the repository credentials", ""},
		{"Helm, wrong path", helmBody(charts.URL+"/stable", repoPassword), "",
			"repository " + charts.URL + "/stable not found: check the URL, and that the credentials can read it; not a Helm repository either (no index.yaml)", ""},
		// A host Git cannot reach or trust is not tried again for Helm.
		{"Helm, untrusted server", map[string]any{"url": charts.URL, "username": "bot", "password": repoPassword}, "",
			"the server's TLS certificate is not trusted", "Helm"},
		{"nothing listening", helmBody(unused, repoPassword), "", "connection refused", "Helm"},
		{"OCI, good credentials", ociBody(oci+"/charts", repoPassword), "oci", "connected: OCI registry " + reg.Host + " accepted the credentials; 1 repository under charts/: app", ""},
		{"OCI, wrong password", ociBody(oci+"/charts", wrong), "", "the registry refused the request (check the repository secret)", ""},
		{"OCI, wrong path", ociBody(oci+"/stable", repoPassword), "", "holds no repository under stable/ that these credentials can see: check the URL", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.in(t)
			status, b := h.do(http.MethodPost, "/api/v1/repositories/test", "admin-token", tt.body)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, b)
			}
			var res apitypes.RepositoryTest
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s", res.Message)
			if res.OK != (tt.kind != "") || res.Kind != tt.kind || res.Revision != "" || !strings.Contains(res.Message, tt.want) ||
				(tt.without != "" && strings.Contains(res.Message, tt.without)) {
				t.Errorf("got %+v, want kind %q and a message with %q (without %q)", res, tt.kind, tt.want, tt.without)
			}
			for _, secret := range []string{repoPassword, wrong} {
				if strings.Contains(string(b), secret) {
					t.Errorf("the answer shows a password: %s", b)
				}
			}
		})
	}

	// Saved: a repository, and a template tested with a path under it.
	var saved apitypes.Repository
	h.must(http.MethodPost, "/api/v1/repositories", ociBody(oci+"/charts", repoPassword), http.StatusCreated, &saved)
	var res apitypes.RepositoryTest
	h.must(http.MethodPost, "/api/v1/repositories/"+saved.Name+"/test", nil, http.StatusOK, &res)
	if !res.OK || res.Kind != "oci" {
		t.Errorf("saved OCI repository: %+v", res)
	}
	tmpl := helmBody(charts.URL, repoPassword)
	tmpl["type"], tmpl["name"] = "repo-creds", "chart-creds"
	h.must(http.MethodPost, "/api/v1/repositories", tmpl, http.StatusCreated, nil)
	h.must(http.MethodPost, "/api/v1/repositories/chart-creds/test", map[string]any{"url": charts.URL + "/"}, http.StatusOK, &res)
	if !res.OK || res.Kind != "helm" {
		t.Errorf("template of a Helm repository: %+v", res)
	}
}
