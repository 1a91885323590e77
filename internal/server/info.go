package server

import (
	"fmt"
	"net/http"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"soll.dev/internal/appstate"
	"soll.dev/internal/version"
)

// InClusterServer is the address of the cluster soll runs in.
const InClusterServer = "https://kubernetes.default.svc"

// VersionInfo is the response of GET /api/v1/version.
type VersionInfo struct {
	version.Info
	// Server is the version the server was started with.
	Server string `json:"server,omitempty"`
}

func (s *Server) getVersion(w http.ResponseWriter, _ *http.Request, _ *Principal) error {
	writeJSON(w, http.StatusOK, VersionInfo{Info: version.Get(), Server: s.opts.Version})
	return nil
}

// Session is the response of GET /api/v1/session: who the caller is.
type Session struct {
	Subject string   `json:"subject"`
	Groups  []string `json:"groups,omitempty"`
	Project string   `json:"project,omitempty"`
	Role    string   `json:"role,omitempty"`
	TokenID string   `json:"tokenID,omitempty"`
}

func (s *Server) getSession(w http.ResponseWriter, _ *http.Request, p *Principal) error {
	writeJSON(w, http.StatusOK, Session{Subject: p.Subject, Groups: p.Groups, Project: p.Project, Role: p.Role, TokenID: p.TokenID})
	return nil
}

// Cluster is a deployment target.
type Cluster struct {
	Name   string `json:"name"`
	Server string `json:"server"`
}

// listClusters lists the clusters p may get; so far only the one soll
// runs in.
func (s *Server) listClusters(w http.ResponseWriter, _ *http.Request, p *Principal) error {
	items := []Cluster{}
	if c := (Cluster{Name: "in-cluster", Server: InClusterServer}); s.opts.RBAC.Allowed(p, resClusters, actGet, c.Server) {
		items = append(items, c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// Settings is the response of GET /api/v1/settings: nothing secret.
type Settings struct {
	Namespace string `json:"namespace"`
	// ResourceCustomizations names the keys of soll's settings ConfigMap
	// (custom health checks, ignore rules, plugins); not their values.
	ResourceCustomizations []string `json:"resourceCustomizations"`
	// MaxBodyBytes and ListLimit are the API's own limits.
	MaxBodyBytes int64 `json:"maxBodyBytes"`
	ListLimit    int   `json:"listLimit"`
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	var cm corev1.ConfigMap
	err := s.opts.APIReader.Get(r.Context(), s.key(appstate.SettingsConfigMap), &cm)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("read settings: %w", err)
	}
	keys := []string{}
	for k := range cm.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	writeJSON(w, http.StatusOK, Settings{Namespace: s.opts.Namespace, ResourceCustomizations: keys, MaxBodyBytes: s.opts.MaxBodyBytes, ListLimit: MaxLimit})
	return nil
}
