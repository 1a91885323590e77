package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestClusterReachability: an answer (even an error status) marks the
// cluster reachable and stamps the contact; a failed connection marks it
// unreachable and keeps the last contact; a request the caller cancelled
// changes nothing.
func TestClusterReachability(t *testing.T) {
	const cluster = "test-cluster"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	url := srv.URL
	client := &http.Client{Transport: ClusterReachability(cluster)(http.DefaultTransport)}
	get := func(ctx context.Context) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/version", nil)
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}

	before := float64(time.Now().UnixNano()) / 1e9
	get(context.Background())
	if got := testutil.ToFloat64(clusterReachable.WithLabelValues(cluster)); got != 1 {
		t.Errorf("after an answer: soll_cluster_reachable = %v, want 1", got)
	}
	contact := testutil.ToFloat64(clusterLastContact.WithLabelValues(cluster))
	if contact < before {
		t.Errorf("last contact %v, want at least %v", contact, before)
	}

	srv.Close() // nothing listens there any more
	get(context.Background())
	if got := testutil.ToFloat64(clusterReachable.WithLabelValues(cluster)); got != 0 {
		t.Errorf("after a refused connection: soll_cluster_reachable = %v, want 0", got)
	}
	if got := testutil.ToFloat64(clusterLastContact.WithLabelValues(cluster)); got != contact {
		t.Errorf("a failed request moved the last contact from %v to %v", contact, got)
	}

	clusterReachable.WithLabelValues(cluster).Set(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	get(ctx)
	if got := testutil.ToFloat64(clusterReachable.WithLabelValues(cluster)); got != 1 {
		t.Errorf("a request the caller cancelled marked the cluster unreachable")
	}
}
