package localcluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// apiClient is the launcher's minimal Kubernetes client: enough to check
// readiness and register nodes, without pulling client-go into the launcher.
type apiClient struct {
	server string
	http   *http.Client
}

// newAPIClient reads a kubeconfig written by writePKI.
func newAPIClient(kubeconfigPath string) (*apiClient, error) {
	b, err := os.ReadFile(kubeconfigPath)
	if err != nil {
		return nil, err
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if ok {
			fields[k] = v
		}
	}
	dec := func(k string) ([]byte, error) {
		v, ok := fields[k]
		if !ok {
			return nil, fmt.Errorf("kubeconfig %s: no %s", kubeconfigPath, k)
		}
		return base64.StdEncoding.DecodeString(v)
	}
	caPEM, err := dec("certificate-authority-data")
	if err != nil {
		return nil, err
	}
	certPEM, err := dec("client-certificate-data")
	if err != nil {
		return nil, err
	}
	keyPEMData, err := dec("client-key-data")
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEMData)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfigPath, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("kubeconfig %s: bad certificate-authority-data", kubeconfigPath)
	}
	return &apiClient{
		server: fields["server"],
		http: &http.Client{
			Timeout: 10 * time.Second,
			Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
			},
		},
	}, nil
}

type apiError struct {
	Code int
	Body string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Code, e.Body) }

func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &apiError{Code: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c *apiClient) readyz(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/readyz", nil, nil)
}

// nodeName is the name of the i-th simulated node.
func nodeName(i int) string { return fmt.Sprintf("kwok-node-%d", i) }

// kwokNodeAnnotation marks the nodes kwok manages.
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

// createNode registers a simulated node. Capacity is generous so that
// benchmarks with thousands of pods fit on a couple of nodes.
func (c *apiClient) createNode(ctx context.Context, name string) error {
	resources := map[string]string{"cpu": "64", "memory": "256Gi", "pods": "2000", "ephemeral-storage": "1Ti"}
	node := map[string]any{
		"apiVersion": "v1",
		"kind":       "Node",
		"metadata": map[string]any{
			"name":        name,
			"annotations": map[string]string{kwokNodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
			"labels": map[string]string{
				"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux", "kubernetes.io/hostname": name,
				"node-role.kubernetes.io/agent": "", "type": "kwok",
			},
		},
		"status": map[string]any{
			"capacity":    resources,
			"allocatable": resources,
			"nodeInfo": map[string]string{
				"architecture": "amd64", "operatingSystem": "linux",
				"kubeletVersion": kubeVersion, "kubeProxyVersion": kubeVersion,
				"containerRuntimeVersion": "kwok", "osImage": "kwok",
			},
		},
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/nodes", node, nil)
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == http.StatusConflict {
		return nil
	}
	return err
}

type nodeList struct {
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Taints []struct {
				Key string `json:"key"`
			} `json:"taints"`
		} `json:"spec"`
		Status struct {
			Conditions []struct {
				Type   string `json:"type"`
				Status string `json:"status"`
			} `json:"conditions"`
		} `json:"status"`
	} `json:"items"`
}

// readyNodes counts the nodes that are Ready and carry none of the taints
// that keep ordinary pods away (not-ready, unreachable, uninitialized).
func (c *apiClient) readyNodes(ctx context.Context) (ready, total int, err error) {
	var nl nodeList
	if err := c.do(ctx, http.MethodGet, "/api/v1/nodes", nil, &nl); err != nil {
		return 0, 0, err
	}
	for _, n := range nl.Items {
		isReady := false
		for _, cond := range n.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" {
				isReady = true
			}
		}
		for _, t := range n.Spec.Taints {
			switch t.Key {
			case "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable",
				"node.cloudprovider.kubernetes.io/uninitialized":
				isReady = false
			}
		}
		if isReady {
			ready++
		}
	}
	return ready, len(nl.Items), nil
}

// serviceAccountExists reports whether namespace ns has its default
// ServiceAccount, which the controller-manager creates; pods cannot be
// created in a namespace before it exists.
func (c *apiClient) serviceAccountExists(ctx context.Context, ns string) (bool, error) {
	err := c.do(ctx, http.MethodGet, "/api/v1/namespaces/"+ns+"/serviceaccounts/default", nil, nil)
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}
