package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	utilnet "k8s.io/apimachinery/pkg/util/net"
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

// TestClusterReachabilityUnwraps: client-go cancels a timed-out request
// on the transport underneath, which it finds through
// net.RoundTripperWrapper; without it, it logs "unable to cancel request"
// for every such request.
func TestClusterReachabilityUnwraps(t *testing.T) {
	inner := &http.Transport{}
	rt := ClusterReachability("c")(inner)
	w, ok := rt.(utilnet.RoundTripperWrapper)
	if !ok {
		t.Fatalf("%T does not let client-go reach the transport underneath", rt)
	}
	if w.WrappedRoundTripper() != http.RoundTripper(inner) {
		t.Errorf("WrappedRoundTripper is %T, want the wrapped transport", w.WrappedRoundTripper())
	}
}
