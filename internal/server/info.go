package server

import (
	"fmt"
	"net/http"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/version"
)

// InClusterServer is the address of the cluster soll runs in.
const InClusterServer = sollv1.InClusterServer

func (s *Server) getVersion(w http.ResponseWriter, _ *http.Request, _ *Principal) error {
	writeJSON(w, http.StatusOK, apitypes.VersionInfo{Info: version.Get(), Server: s.opts.Version})
	return nil
}

func (s *Server) getSession(w http.ResponseWriter, _ *http.Request, p *Principal) error {
	writeJSON(w, http.StatusOK, apitypes.Session{Subject: p.Subject, Groups: p.Groups, Project: p.Project, Role: p.Role, TokenID: p.TokenID})
	return nil
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	var cm corev1.ConfigMap
	err := s.opts.APIReader.Get(r.Context(), s.key(sollv1.SettingsConfigMap), &cm)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("read settings: %w", err)
	}
	keys := []string{}
	for k := range cm.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	writeJSON(w, http.StatusOK, apitypes.Settings{Namespace: s.opts.Namespace, ResourceCustomizations: keys, MaxBodyBytes: s.opts.MaxBodyBytes, ListLimit: apitypes.MaxLimit})
	return nil
}
