package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of every type in this package.
var GroupVersion = schema.GroupVersion{Group: "soll.dev", Version: "v1alpha1"}

// The scheme registration uses apimachinery's builder rather than
// controller-runtime's so that importing the API types (for example from a
// client or another project) does not pull in controller-runtime.
var (
	// SchemeBuilder collects the functions that add this package's types to a
	// runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds Application, Project, Cluster and their lists to a
	// scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Resource returns a GroupResource of this group for the given resource name
// (for example "applications"), as used in API errors.
func Resource(resource string) schema.GroupResource {
	return GroupVersion.WithResource(resource).GroupResource()
}

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Application{}, &ApplicationList{},
		&Project{}, &ProjectList{},
		&Cluster{}, &ClusterList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
