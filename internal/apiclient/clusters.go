package apiclient

import (
	"context"
	"net/http"

	"soll.dev/internal/apitypes"
)

const clustersPath = "/api/v1/clusters"

func clusterPath(name string, sub ...string) string { return pathOf(clustersPath, name, sub...) }

// Clusters lists the deployment targets the caller may see: the cluster
// soll runs in, then the registered ones by name, without credentials.
func (c *Client) Clusters(ctx context.Context) ([]apitypes.Cluster, error) {
	return listItems[apitypes.Cluster](ctx, c, clustersPath)
}

// GetCluster reads one cluster ("in-cluster" is the one soll runs in).
func (c *Client) GetCluster(ctx context.Context, name string) (*apitypes.Cluster, error) {
	return getAs[apitypes.Cluster](ctx, c, clusterPath(name))
}

// CreateCluster registers a cluster with its credentials; a name or
// server registered already is an AlreadyExists or Conflict error.
func (c *Client) CreateCluster(ctx context.Context, req apitypes.ClusterRequest) (*apitypes.Cluster, error) {
	return call[apitypes.Cluster](ctx, c, request{method: http.MethodPost, path: clustersPath, body: req})
}

// PatchCluster changes the settings of a cluster that patch gives.
func (c *Client) PatchCluster(ctx context.Context, name string, patch apitypes.ClusterPatch) (*apitypes.Cluster, error) {
	return call[apitypes.Cluster](ctx, c, request{method: http.MethodPatch, path: clusterPath(name), body: patch})
}

// SetClusterCredentials replaces the credentials of a cluster.
func (c *Client) SetClusterCredentials(ctx context.Context, name string, creds apitypes.ClusterCredentials) (*apitypes.Cluster, error) {
	return call[apitypes.Cluster](ctx, c, request{method: http.MethodPut, path: clusterPath(name, "credentials"), body: creds})
}

// DeleteCluster deletes a cluster and the Secret of its credentials; the
// answer counts the Applications that still deploy there.
func (c *Client) DeleteCluster(ctx context.Context, name string) (*apitypes.ClusterDeleted, error) {
	return call[apitypes.ClusterDeleted](ctx, c, request{method: http.MethodDelete, path: clusterPath(name)})
}
