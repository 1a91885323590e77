package apiclient

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"soll.dev/internal/apitypes"
)

// TestRequestShapes checks the method, path, query and body each call
// sends for the repository, account and project-token endpoints; names
// and ids are escaped into one path segment each.
func TestRequestShapes(t *testing.T) {
	type sent struct {
		Method, Path, Query, ContentType string
		Body                             any
	}
	caps := []string{"apiKey"}
	off := false
	for _, tc := range []struct {
		name string
		call func(c *Client) error
		want sent
	}{
		{"create repository", func(c *Client) error {
			_, err := c.CreateRepository(context.Background(), apitypes.RepositoryRequest{URL: "https://git.example/a.git", Username: "u", Password: "p"}, true)
			return err
		}, sent{"POST", "/api/v1/repositories", "upsert=true", "application/json", map[string]any{"url": "https://git.example/a.git", "username": "u", "password": "p"}}},
		{"delete repository", func(c *Client) error { return c.DeleteRepository(context.Background(), "repo-1") },
			sent{"DELETE", "/api/v1/repositories/repo-1", "", "", nil}},
		{"test unsaved", func(c *Client) error {
			_, err := c.TestRepository(context.Background(), apitypes.RepositoryRequest{URL: "git@host:a.git", SSHPrivateKey: "KEY"})
			return err
		}, sent{"POST", "/api/v1/repositories/test", "", "application/json", map[string]any{"url": "git@host:a.git", "sshPrivateKey": "KEY"}}},
		{"test saved", func(c *Client) error {
			_, err := c.TestSavedRepository(context.Background(), "creds-1", apitypes.RepositoryTestRequest{URL: "https://git.example/org/a.git"})
			return err
		}, sent{"POST", "/api/v1/repositories/creds-1/test", "", "application/json", map[string]any{"url": "https://git.example/org/a.git"}}},
		{"create account", func(c *Client) error {
			_, err := c.CreateAccount(context.Background(), apitypes.AccountRequest{Name: "ci", Capabilities: caps})
			return err
		}, sent{"POST", "/api/v1/accounts", "", "application/json", map[string]any{"name": "ci", "capabilities": []any{"apiKey"}}}},
		{"patch account", func(c *Client) error {
			_, err := c.PatchAccount(context.Background(), "ci", apitypes.AccountPatch{Enabled: &off, Capabilities: &caps})
			return err
		}, sent{"PATCH", "/api/v1/accounts/ci", "", "application/json", map[string]any{"enabled": false, "capabilities": []any{"apiKey"}}}},
		{"patch account, capabilities only", func(c *Client) error {
			none := []string{}
			_, err := c.PatchAccount(context.Background(), "ci", apitypes.AccountPatch{Capabilities: &none})
			return err
		}, sent{"PATCH", "/api/v1/accounts/ci", "", "application/json", map[string]any{"capabilities": []any{}}}},
		{"set password", func(c *Client) error {
			return c.SetPassword(context.Background(), "ci", apitypes.PasswordChange{CurrentPassword: "old", NewPassword: "new"})
		}, sent{"PUT", "/api/v1/accounts/ci/password", "", "application/json", map[string]any{"currentPassword": "old", "newPassword": "new"}}},
		{"account token", func(c *Client) error {
			_, err := c.CreateAccountToken(context.Background(), "ci", apitypes.TokenRequest{ExpiresIn: apitypes.Duration(24 * time.Hour), ID: "build"})
			return err
		}, sent{"POST", "/api/v1/accounts/ci/tokens", "", "application/json", map[string]any{"expiresIn": "24h0m0s", "id": "build"}}},
		{"delete account token", func(c *Client) error { return c.DeleteAccountToken(context.Background(), "ci", "a/b") },
			sent{"DELETE", "/api/v1/accounts/ci/tokens/a%2Fb", "", "", nil}},
		{"delete account", func(c *Client) error { return c.DeleteAccount(context.Background(), "ci") },
			sent{"DELETE", "/api/v1/accounts/ci", "", "", nil}},
		{"project token", func(c *Client) error {
			_, err := c.CreateProjectToken(context.Background(), "team-a", "ci", apitypes.TokenRequest{})
			return err
		}, sent{"POST", "/api/v1/projects/team-a/roles/ci/tokens", "", "application/json", map[string]any{}}},
		{"delete project token", func(c *Client) error { return c.DeleteProjectToken(context.Background(), "team-a", "ci", "t 1") },
			sent{"DELETE", "/api/v1/projects/team-a/roles/ci/tokens/t%201", "", "", nil}},
		{"create cluster", func(c *Client) error {
			_, err := c.CreateCluster(context.Background(), apitypes.ClusterRequest{Name: "edge", Server: "https://edge.example:6443", Namespaces: []string{"apps"},
				ClusterResources: &off, Credentials: apitypes.ClusterCredentials{Token: "T"}})
			return err
		}, sent{"POST", "/api/v1/clusters", "", "application/json", map[string]any{"name": "edge", "server": "https://edge.example:6443",
			"namespaces": []any{"apps"}, "clusterResources": false, "credentials": map[string]any{"token": "T"}}}},
		{"get cluster", func(c *Client) error {
			_, err := c.GetCluster(context.Background(), "a/b")
			return err
		}, sent{"GET", "/api/v1/clusters/a%2Fb", "", "", nil}},
		{"patch cluster", func(c *Client) error {
			none := []string{}
			_, err := c.PatchCluster(context.Background(), "edge", apitypes.ClusterPatch{Namespaces: &none, ClusterResources: &off})
			return err
		}, sent{"PATCH", "/api/v1/clusters/edge", "", "application/json", map[string]any{"namespaces": []any{}, "clusterResources": false}}},
		{"cluster credentials", func(c *Client) error {
			_, err := c.SetClusterCredentials(context.Background(), "edge", apitypes.ClusterCredentials{CertData: "C", KeyData: "K"})
			return err
		}, sent{"PUT", "/api/v1/clusters/edge/credentials", "", "application/json", map[string]any{"certData": "C", "keyData": "K"}}},
		{"delete cluster", func(c *Client) error {
			_, err := c.DeleteCluster(context.Background(), "edge")
			return err
		}, sent{"DELETE", "/api/v1/clusters/edge", "", "", nil}},
		{"patch project", func(c *Client) error {
			_, err := c.PatchProject(context.Background(), "team-a", map[string]any{"spec": map[string]any{"description": "d"}})
			return err
		}, sent{"PATCH", "/api/v1/projects/team-a", "", "application/merge-patch+json", map[string]any{"spec": map[string]any{"description": "d"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got sent
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				got = sent{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, ContentType: r.Header.Get("Content-Type")}
				if b, _ := io.ReadAll(r.Body); len(b) > 0 {
					if err := json.Unmarshal(b, &got.Body); err != nil {
						t.Errorf("body %q: %v", b, err)
					}
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, "{}")
			})
			if err := tc.call(c); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}
