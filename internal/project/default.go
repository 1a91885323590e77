package project

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
)

// DefaultName is the name of the Project that Applications belong to when
// they name none.
const DefaultName = "default"

// Default returns the Project named "default" as soll creates it: every
// repository, every destination and every kind of resource is allowed,
// except soll's own namespace, which no pattern allows (see
// CheckApplication).
// Callers use it when that Project does not exist (yet, or any more), so an
// Application of the default Project is never refused for a missing Project.
func Default() *sollv1.Project {
	return &sollv1.Project{
		TypeMeta:   metav1.TypeMeta{APIVersion: sollv1.GroupVersion.String(), Kind: "Project"},
		ObjectMeta: metav1.ObjectMeta{Name: DefaultName},
		Spec: sollv1.ProjectSpec{
			Description:  "The default Project; it allows everything.",
			SourceRepos:  []string{"*"},
			Destinations: []sollv1.ProjectDestination{{Server: "*", Name: "*", Namespace: "*"}},
			// An empty namespaced allow list already allows every kind.
			ClusterResourceAllowList: []sollv1.GroupKind{{Group: "*", Kind: "*"}},
		},
	}
}
