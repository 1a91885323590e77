package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fluxCheck: every Flux object follows kstatus: spec.suspend pauses it,
// status.observedGeneration says which spec the status describes,
// Reconciling True means work under way, Stalled True a failure that needs
// a change, and Ready sums it up (True: the last reconciliation succeeded,
// False: it failed, Unknown: in progress).
var fluxCheck = readyCheck{condition: "Ready", suspend: []string{"spec", "suspend"}, kstatus: true}.check

// fluxChecks: Flux's kustomize, helm and source controllers.
var fluxChecks = map[schema.GroupKind]builtinCheck{
	{Group: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization"}: fluxCheck,
	{Group: "helm.toolkit.fluxcd.io", Kind: "HelmRelease"}:        fluxCheck,
	{Group: "source.toolkit.fluxcd.io", Kind: "GitRepository"}:    fluxCheck,
	{Group: "source.toolkit.fluxcd.io", Kind: "OCIRepository"}:    fluxCheck,
	{Group: "source.toolkit.fluxcd.io", Kind: "HelmRepository"}:   fluxHelmRepositoryHealth,
	{Group: "source.toolkit.fluxcd.io", Kind: "HelmChart"}:        fluxCheck,
	{Group: "source.toolkit.fluxcd.io", Kind: "Bucket"}:           fluxCheck,
}

// fluxHelmRepositoryHealth: a HelmRepository of type oci is only a pointer
// to a registry that Flux never fetches, so it gets no Ready condition;
// other HelmRepositories follow fluxCheck.
func fluxHelmRepositoryHealth(obj *unstructured.Unstructured) (Result, error) {
	if stringField(obj, "spec", "type") == "oci" && findCondition(readConditions(obj), "Ready") == nil {
		if boolField(obj, "spec", "suspend") {
			return suspended("HelmRepository is suspended"), nil
		}
		return Result{Status: Healthy}, nil
	}
	return fluxCheck(obj)
}
