// Package v1alpha1 holds version v1alpha1 of soll's API group soll.dev: the
// Application and Project custom resources, which are all the persistent
// state soll has besides Secrets and ConfigMaps in its own namespace.
//
// The Go comments on the types and fields are the API reference: controller-gen
// copies them into the OpenAPI schema of the generated CustomResourceDefinitions
// (config/crd), so `kubectl explain` and the docs show exactly this text. Write
// them for users, in full sentences.
//
// Validation lives next to the fields as kubebuilder markers, so that the API
// server rejects a bad object when it is written rather than the controller
// discovering the problem later. Checks that need more than one object (does
// the Project exist, does the app form a dependency cycle) are the
// controller's job and surface as status conditions.
//
// After changing a type, run `make generate` to refresh
// zz_generated.deepcopy.go and the CRD manifests; `make verify` fails when
// they are stale.
//
// +kubebuilder:object:generate=true
// +groupName=soll.dev
package v1alpha1
