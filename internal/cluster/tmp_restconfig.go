package cluster

import (
	"errors"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	sollv1 "soll.dev/api/v1alpha1"
)

// RESTConfig (temporary, token and certificate only).
func RESTConfig(c *sollv1.Cluster, s *corev1.Secret) (*rest.Config, error) {
	if s == nil {
		return nil, errors.New("no secret")
	}
	cfg := &rest.Config{Host: c.Spec.Server, QPS: 200, Burst: 400}
	cfg.CAData = []byte(c.Spec.CAData)
	cfg.ServerName = c.Spec.TLSServerName
	cfg.BearerToken = string(s.Data["token"])
	cfg.CertData, cfg.KeyData = s.Data["tls.crt"], s.Data["tls.key"]
	return cfg, nil
}
