package cluster

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
)

// Find reads, through r, the Cluster of soll's namespace ns that the
// destination d names, by name or by server (compared as NormalServer
// spells them). d is not the cluster soll runs in. The error says why
// none is found, naming the field of the Application at fault.
func Find(ctx context.Context, r client.Reader, ns string, d sollv1.ApplicationDestination) (*sollv1.Cluster, error) {
	server := NormalServer(d.Server)
	if d.Server == "" {
		server = ""
	}
	if d.Name != "" {
		var c sollv1.Cluster
		err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: d.Name}, &c)
		switch {
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			return nil, fmt.Errorf("spec.destination.name: cluster %s is not registered: register it (soll cluster add) or deploy to a registered cluster (soll cluster list)", d.Name)
		case err != nil:
			return nil, fmt.Errorf("read Cluster %s: %w", d.Name, err)
		case server != "" && NormalServer(c.Spec.Server) != server:
			return nil, fmt.Errorf("spec.destination: name %s and server %s name two different clusters (Cluster %s has server %s): give one of the two", d.Name, d.Server, c.Name, c.Spec.Server)
		}
		return &c, nil
	}
	var l sollv1.ClusterList
	if err := r.List(ctx, &l, client.InNamespace(ns)); err != nil && !meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("list Clusters: %w", err)
	}
	for i := range l.Items {
		if NormalServer(l.Items[i].Spec.Server) == server {
			return &l.Items[i], nil
		}
	}
	return nil, fmt.Errorf("spec.destination.server: no cluster with server %s is registered: register it (soll cluster add) or deploy to a registered cluster (soll cluster list)", d.Server)
}
