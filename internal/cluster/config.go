package cluster

import (
	"errors"
	"net/http"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	sollv1 "soll.dev/api/v1alpha1"
)

// UserAgent is the User-Agent of soll's requests to a registered cluster.
const UserAgent = "soll"

// Client rates of a registered cluster: soll is one client serving many
// Applications, so client-go's defaults (5 and 10) would queue its syncs.
const (
	QPS   = 200
	Burst = 400
)

// RESTConfig validates c and its Secret s (nil for a Cluster with
// spec.exec) and returns the client configuration of c's API server. It
// has no overall request timeout (watches are long): callers bound
// requests with contexts.
func RESTConfig(c *sollv1.Cluster, s *corev1.Secret) (*rest.Config, error) {
	if err := Validate(c); err != nil {
		return nil, err
	}
	if c.Spec.Exec != nil && s != nil {
		return nil, errors.New("cluster " + c.Name + ": spec.exec is set, so the Cluster takes no Secret")
	}
	if c.Spec.Exec == nil {
		if err := ValidateSecret(c, s); err != nil {
			return nil, err
		}
	}
	cfg := &rest.Config{
		Host:      c.Spec.Server,
		UserAgent: UserAgent,
		QPS:       QPS,
		Burst:     Burst,
		// No Timeout: watches are long; callers bound requests with
		// contexts.
		TLSClientConfig: rest.TLSClientConfig{
			ServerName: c.Spec.TLSServerName,
		},
	}
	if c.Spec.CAData != "" {
		cfg.CAData = []byte(c.Spec.CAData)
	}
	if c.Spec.ProxyURL != "" {
		u, err := url.Parse(c.Spec.ProxyURL) // Validate parsed it already
		if err != nil {
			return nil, err
		}
		// net/http's transport speaks to http, https and socks5 proxies.
		cfg.Proxy = http.ProxyURL(u)
	}
	if c.Spec.Exec != nil {
		src := newTokenSource(c.Name, c.Spec.Exec)
		cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &execTransport{src: src, next: rt} })
		return cfg, nil
	}
	data := secretData(s)
	if token, ok := data[KeyToken]; ok {
		cfg.BearerToken = trimToken(token)
	} else {
		cfg.CertData = data[KeyCert]
		cfg.KeyData = data[KeyKey]
	}
	return cfg, nil
}
