package project

import (
	"fmt"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/glob"
)

// The cluster soll runs in has a name and a server URL that every soll
// knows, so a Project may name it either way whichever way the
// Application does.
const (
	inClusterName   = "in-cluster"
	inClusterServer = "https://kubernetes.default.svc"
)

// checkDestination reports whether p lets Applications deploy to d, and
// when not, an error naming spec.destination. See CheckApplication for the
// rules.
func checkDestination(p *sollv1.Project, d sollv1.ApplicationDestination) error {
	server, name := clusterIDs(d)
	allowed := false
	for i, pd := range p.Spec.Destinations {
		if !clusterMatches(pd, server, name) {
			continue
		}
		if denied, ok := strings.CutPrefix(pd.Namespace, "!"); ok {
			if glob.Match(denied, d.Namespace) {
				return fmt.Errorf("spec.destination: %s is not permitted in project %s (spec.destinations[%d] denies namespace %q): deploy to another namespace or ask an admin to change the project",
					describeDestination(d), p.Name, i, pd.Namespace)
			}
			continue
		}
		if glob.Match(pd.Namespace, d.Namespace) {
			allowed = true
		}
	}
	if allowed {
		return nil
	}
	return fmt.Errorf("spec.destination: %s is not permitted in project %s (spec.destinations %s): deploy to an allowed destination or ask an admin to add it",
		describeDestination(d), p.Name, allows(p.Spec.Destinations, allowingDestination, "destination"))
}

// clusterIDs returns the server URL and name of d's cluster, filling in the
// one the Application left out when the cluster is the one soll runs in.
func clusterIDs(d sollv1.ApplicationDestination) (server, name string) {
	server, name = strings.TrimSuffix(d.Server, "/"), d.Name
	switch {
	case server == "" && name == inClusterName:
		server = inClusterServer
	case name == "" && server == inClusterServer:
		name = inClusterName
	}
	return server, name
}

func clusterMatches(pd sollv1.ProjectDestination, server, name string) bool {
	if pd.Server == "*" || pd.Name == "*" {
		return true
	}
	return pd.Server != "" && server != "" && glob.Match(strings.TrimSuffix(pd.Server, "/"), server) ||
		pd.Name != "" && name != "" && glob.Match(pd.Name, name)
}

func describeDestination(d sollv1.ApplicationDestination) string {
	cluster := "server " + d.Server
	if d.Server == "" {
		cluster = "cluster " + d.Name
	}
	if d.Namespace == "" {
		return cluster + " without a namespace"
	}
	return fmt.Sprintf("%s, namespace %s", cluster, d.Namespace)
}

func allowingDestination(pd sollv1.ProjectDestination) string {
	if strings.HasPrefix(pd.Namespace, "!") {
		return ""
	}
	var cluster []string
	if pd.Server != "" {
		cluster = append(cluster, "server "+pd.Server)
	}
	if pd.Name != "" {
		cluster = append(cluster, "name "+pd.Name)
	}
	return fmt.Sprintf("%s namespace %s", strings.Join(cluster, " or "), pd.Namespace)
}
