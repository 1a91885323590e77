package project

import (
	"fmt"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/glob"
	"soll.dev/internal/resource"
)

// The cluster soll runs in has a name and a server URL that every soll
// knows, so a Project may name it either way whichever way the
// Application does.
const (
	inClusterName   = "in-cluster"
	inClusterServer = "https://kubernetes.default.svc"
)

// checkDestination reports whether p lets Applications deploy to d, and
// when not, an error naming spec.destination. sollNamespace is the
// namespace soll runs in (see allowsNamespace). See CheckApplication for
// the rules.
func checkDestination(p *sollv1.Project, d sollv1.ApplicationDestination, sollNamespace string) error {
	server, name := clusterIDs(d)
	allowed, denied := allowsNamespace(p, server, name, d.Namespace, sollNamespace)
	if denied >= 0 {
		return fmt.Errorf("spec.destination: %s is not permitted in project %s (spec.destinations[%d] denies namespace %q): deploy to another namespace or ask an admin to change the project",
			describeDestination(d), p.Name, denied, p.Spec.Destinations[denied].Namespace)
	}
	if allowed {
		return nil
	}
	return fmt.Errorf("spec.destination: %s is not permitted in project %s (spec.destinations %s%s): deploy to an allowed destination or ask an admin to add it",
		describeDestination(d), p.Name, allows(p.Spec.Destinations, allowingDestination, "destination"), sollNamespaceNote(d.Namespace, sollNamespace))
}

// CheckObjectNamespace reports whether p lets app put the namespaced object
// k into k.Namespace (the namespace the object sets itself, or app's
// destination namespace it defaults to) on app's destination cluster.
// The rules are those of spec.destinations for app's own destination (see
// CheckApplication), so an object cannot reach a namespace that app could
// not deploy to. app.Namespace, where Applications live, is soll's own
// namespace. The error names the object, its namespace and the Project rule
// that refuses it.
func CheckObjectNamespace(p *sollv1.Project, app *sollv1.Application, k resource.Key) error {
	server, name := clusterIDs(app.Spec.Destination)
	allowed, denied := allowsNamespace(p, server, name, k.Namespace, app.Namespace)
	const todo = "leave metadata.namespace unset to use the application's destination namespace, or use a namespace the project allows, or ask an admin to change the project"
	if denied >= 0 {
		return fmt.Errorf("%s: namespace %s is not permitted in project %s (spec.destinations[%d] denies namespace %q): %s",
			k, k.Namespace, p.Name, denied, p.Spec.Destinations[denied].Namespace, todo)
	}
	if allowed {
		return nil
	}
	return fmt.Errorf("%s: namespace %s is not permitted in project %s on %s (spec.destinations %s%s): %s",
		k, k.Namespace, p.Name, describeCluster(app.Spec.Destination), allows(p.Spec.Destinations, allowingDestination, "destination"),
		sollNamespaceNote(k.Namespace, app.Namespace), todo)
}

// allowsNamespace decides whether p's destinations allow namespace ns on
// the cluster with the given server URL and name. denied is the index of
// the negated entry that denies it, or -1. soll's own namespace
// (sollNamespace; "" for none) holds soll's Applications, Projects,
// settings and credentials, so writing into it is writing soll's
// configuration: no pattern allows it, only an entry whose namespace names
// it exactly. Negated entries deny it as any other namespace.
func allowsNamespace(p *sollv1.Project, server, name, ns, sollNamespace string) (allowed bool, denied int) {
	protected := sollNamespace != "" && ns == sollNamespace
	for i, pd := range p.Spec.Destinations {
		if !clusterMatches(pd, server, name) {
			continue
		}
		if neg, ok := strings.CutPrefix(pd.Namespace, "!"); ok {
			if glob.Match(neg, ns) {
				return false, i
			}
			continue
		}
		if protected {
			allowed = allowed || pd.Namespace == ns
		} else if glob.Match(pd.Namespace, ns) {
			allowed = true
		}
	}
	return allowed, -1
}

// sollNamespaceNote explains, in an error about namespace ns, why a
// pattern such as "*" does not allow soll's own namespace.
func sollNamespaceNote(ns, sollNamespace string) string {
	if sollNamespace == "" || ns != sollNamespace {
		return ""
	}
	return fmt.Sprintf("; %s is soll's own namespace, which only an entry naming it exactly allows, not a pattern such as \"*\"", ns)
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
	cluster := describeCluster(d)
	if d.Namespace == "" {
		return cluster + " without a namespace"
	}
	return fmt.Sprintf("%s, namespace %s", cluster, d.Namespace)
}

func describeCluster(d sollv1.ApplicationDestination) string {
	if d.Server == "" {
		return "cluster " + d.Name
	}
	return "server " + d.Server
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
