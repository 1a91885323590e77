package diff

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// metadataNoise are metadata fields the API server maintains; they are not
// part of the desired state and never count as drift.
var metadataNoise = []string{
	"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp",
	"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds",
}

// lastApplied is written by client-side kubectl apply; it duplicates the
// object and is not desired state.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// Normalize returns a copy of obj without status and server-maintained
// metadata, the form in which desired and live objects are compared.
func Normalize(obj *unstructured.Unstructured) *unstructured.Unstructured {
	if obj == nil {
		return nil
	}
	out := obj.DeepCopy()
	delete(out.Object, "status")
	md, ok := out.Object["metadata"].(map[string]any)
	if !ok {
		return out
	}
	for _, f := range metadataNoise {
		delete(md, f)
	}
	if ann, ok := md["annotations"].(map[string]any); ok {
		delete(ann, lastApplied)
		if len(ann) == 0 {
			delete(md, "annotations")
		}
	}
	if l, ok := md["labels"].(map[string]any); ok && len(l) == 0 {
		delete(md, "labels")
	}
	return out
}
