package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Cluster registers a Kubernetes cluster that Applications may deploy to,
// besides the one soll runs in (which needs no Cluster: its name is
// "in-cluster" and its server "https://kubernetes.default.svc"). Clusters
// live in soll's namespace; an Application names one in
// spec.destination.name (the Cluster's metadata.name) or
// spec.destination.server (its spec.server). The credentials soll uses
// are in a Secret of soll's namespace that the Cluster references; the
// Cluster's labels select it (for generators of Applications).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=clusters,singular=cluster,scope=Namespaced,shortName=scl,categories=soll
// +kubebuilder:printcolumn:name="Server",type=string,JSONPath=`.spec.server`
// +kubebuilder:printcolumn:name="Reachable",type=string,JSONPath=`.status.conditions[?(@.type=="Reachable")].status`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.serverVersion`
// +kubebuilder:printcolumn:name="Apps",type=integer,JSONPath=`.status.applications`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Cluster struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says how to reach the cluster and what soll may touch there.
	// +required
	Spec ClusterSpec `json:"spec"`

	// Status is the observed state, written by soll's controller.
	// +optional
	Status ClusterStatus `json:"status,omitempty"`
}

// ClusterList is a list of Clusters.
//
// +kubebuilder:object:root=true
type ClusterList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the Clusters.
	Items []Cluster `json:"items"`
}

// ClusterSpec says how soll reaches a cluster's API server and what it may
// touch there.
//
// +kubebuilder:validation:XValidation:rule="has(self.secretName) != has(self.exec)",message="set exactly one of spec.secretName (a Secret with a token or a client certificate) and spec.exec (a credential plugin)"
type ClusterSpec struct {
	// Server is the URL of the cluster's API server, https only. No two
	// Clusters have the same server, and none is the in-cluster one.
	// +required
	// +kubebuilder:validation:MinLength=9
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https://[^\s]+$`
	Server string `json:"server"`

	// CAData is the PEM-encoded certificate authority that signs the API
	// server's certificate. Empty: the system's roots.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	CAData string `json:"caData,omitempty"`

	// TLSServerName is the name checked against the API server's
	// certificate instead of the server URL's host.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	TLSServerName string `json:"tlsServerName,omitempty"`

	// ProxyURL is an http, https or socks5 proxy every request to the
	// cluster goes through.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^(https?|socks5)://[^\s]+$`
	ProxyURL string `json:"proxyURL,omitempty"`

	// SecretName names the Secret in soll's namespace that holds the
	// credentials: key "token" (a bearer token), or keys "tls.crt" and
	// "tls.key" (a client certificate). Required unless Exec is set.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName,omitempty"`

	// Exec gets credentials from a command, as a kubeconfig's exec
	// credential plugin does.
	// +optional
	Exec *ClusterExec `json:"exec,omitempty"`

	// Namespaces are the only namespaces soll may touch in the cluster;
	// empty means all. Applications whose objects go elsewhere fail their
	// comparison with an error naming the object.
	// +optional
	// +kubebuilder:validation:MaxItems=1000
	// +listType=set
	Namespaces []string `json:"namespaces,omitempty"`

	// ClusterResources says whether soll may deploy cluster-scoped
	// objects (Namespaces, CRDs, ClusterRoles...). Unset means true when
	// Namespaces is empty, false when it lists namespaces.
	// +optional
	ClusterResources *bool `json:"clusterResources,omitempty"`
}

// AllowsClusterResources says whether soll may deploy cluster-scoped
// objects to the cluster: ClusterResources, or by default when Namespaces
// is empty.
func (s *ClusterSpec) AllowsClusterResources() bool {
	if s.ClusterResources != nil {
		return *s.ClusterResources
	}
	return len(s.Namespaces) == 0
}

// ClusterExec runs a command that prints an ExecCredential
// (client.authentication.k8s.io/v1 or v1beta1) on its standard output,
// as kubeconfig's exec plugins do. It runs with a clean environment (only
// Env and PATH), no standard input, and a timeout; its token is cached
// until the credential's expirationTimestamp.
type ClusterExec struct {
	// Command is the program to run: an absolute path, or a name looked
	// up in PATH.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Command string `json:"command"`

	// Args are the program's arguments.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Args []string `json:"args,omitempty"`

	// Env are the program's environment variables, beside PATH.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=map
	// +listMapKey=name
	Env []ClusterExecEnv `json:"env,omitempty"`

	// APIVersion is the ExecCredential version the program speaks;
	// empty means client.authentication.k8s.io/v1.
	// +optional
	// +kubebuilder:validation:Enum="";client.authentication.k8s.io/v1;client.authentication.k8s.io/v1beta1
	APIVersion string `json:"apiVersion,omitempty"`

	// TimeoutSeconds bounds each run; zero means 30.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=300
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`
}

// ClusterExecEnv is one environment variable of an exec credential plugin.
type ClusterExecEnv struct {
	// Name of the variable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`

	// Value of the variable.
	// +optional
	// +kubebuilder:validation:MaxLength=8192
	Value string `json:"value,omitempty"`
}

// ClusterStatus is the observed state of a Cluster.
type ClusterStatus struct {
	// ObservedGeneration is the metadata.generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: "Reachable" is True when soll's last request to the
	// API server got an answer, False with the error when it did not or
	// when the Cluster's credentials cannot be used.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ServerVersion is the API server's version (e.g. v1.34.1).
	// +optional
	ServerVersion string `json:"serverVersion,omitempty"`

	// LastContact is when the API server last answered soll.
	// +optional
	LastContact *metav1.Time `json:"lastContact,omitempty"`

	// Applications is the number of Applications that deploy to the
	// cluster.
	// +optional
	Applications int32 `json:"applications,omitempty"`

	// WatchedKinds is the number of kinds soll watches in the cluster.
	// +optional
	WatchedKinds int32 `json:"watchedKinds,omitempty"`

	// WatchedObjects is the number of objects in soll's cache of the
	// cluster (soll's own objects only).
	// +optional
	WatchedObjects int32 `json:"watchedObjects,omitempty"`
}

// ClusterReachable is the condition type of a Cluster that is True when
// its API server answers soll.
const ClusterReachable = "Reachable"

// Reasons of a Cluster's Reachable condition.
const (
	// ReasonClusterConnected: the API server answered.
	ReasonClusterConnected = "Connected"
	// ReasonClusterUnreachable: the API server did not answer.
	ReasonClusterUnreachable = "Unreachable"
	// ReasonClusterInvalid: the Cluster's spec or its Secret cannot be
	// used (a missing key, a bad certificate).
	ReasonClusterInvalid = "InvalidCredentials"
)

// SecretTypeCluster labels (SecretTypeLabel) a Secret holding a Cluster's
// credentials.
const SecretTypeCluster = "cluster"

// ClusterSecretLabel names, on a Secret of type SecretTypeCluster, the one
// Cluster that may use it: a Cluster that names another Cluster's Secret
// (to have its token sent to a server of its own) is refused.
const ClusterSecretLabel = "soll.dev/cluster"
