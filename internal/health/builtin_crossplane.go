package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// crossplanePausedAnnotation stops Crossplane from reconciling an object.
const crossplanePausedAnnotation = "crossplane.io/paused"

// crossplaneChecks: the Crossplane package manager and API extension kinds.
// Managed resources, composite resources and claims live in groups chosen
// by each provider or platform team, so they are recognised by their
// conditions instead (see byConditions).
var crossplaneChecks = map[schema.GroupKind]builtinCheck{
	{Group: "pkg.crossplane.io", Kind: "Provider"}:                              crossplanePackageHealth,
	{Group: "pkg.crossplane.io", Kind: "Configuration"}:                         crossplanePackageHealth,
	{Group: "pkg.crossplane.io", Kind: "Function"}:                              crossplanePackageHealth,
	{Group: "pkg.crossplane.io", Kind: "ProviderRevision"}:                      crossplanePackageHealth,
	{Group: "pkg.crossplane.io", Kind: "ConfigurationRevision"}:                 crossplanePackageHealth,
	{Group: "pkg.crossplane.io", Kind: "FunctionRevision"}:                      crossplanePackageHealth,
	{Group: "apiextensions.crossplane.io", Kind: "CompositeResourceDefinition"}: crossplaneXRDHealth,
}

// byConditions picks a check for a kind without its own by the conditions
// its controller writes: Crossplane's managed resources, composite
// resources and claims all carry Synced (did the last reconciliation
// succeed?) and most Ready (is the resource usable?), whatever their group.
// Other controllers name conditions Synced too, with other meanings, so the
// Synced condition must also carry one of Crossplane's reasons.
func byConditions(obj *unstructured.Unstructured) (builtinCheck, bool) {
	if c := findCondition(readConditions(obj), "Synced"); c != nil && crossplaneSyncedReasons[c.Reason] {
		return crossplaneResourceHealth, true
	}
	return nil, false
}

// crossplaneSyncedReasons are the reasons Crossplane's runtime gives the
// Synced condition.
var crossplaneSyncedReasons = map[string]bool{
	"ReconcileSuccess": true,
	"ReconcileError":   true,
	"ReconcilePaused":  true,
}

// crossplaneResourceHealth: Synced False means Crossplane could not
// reconcile the resource (reason ReconcileError; ReconcilePaused when it is
// paused on purpose); Ready True (reason Available) means usable, Ready
// False with reason Creating or Deleting is on its way, other reasons
// (Unavailable) mean it exists but does not work.
func crossplaneResourceHealth(obj *unstructured.Unstructured) (Result, error) {
	if obj.GetAnnotations()[crossplanePausedAnnotation] == "true" {
		return suspended("Reconciliation is paused (annotation %s)", crossplanePausedAnnotation), nil
	}
	if res, stale := staleGeneration(obj); stale {
		return res, nil
	}
	conds := readConditions(obj)
	synced := findCondition(conds, "Synced")
	if res, stale := staleCondition(obj, synced); stale {
		return res, nil
	}
	if synced != nil && synced.Status == "False" {
		if synced.Reason == "ReconcilePaused" {
			return suspended("%s", conditionMessage(synced.Reason, synced.Message)), nil
		}
		return degraded("%s", conditionMessage(synced.Reason, synced.Message)), nil
	}
	ready := findCondition(conds, "Ready")
	if ready == nil {
		if isTrue(synced) {
			// Some kinds (claims of an XRD without Ready) report only Synced.
			return healthy("%s", synced.Message), nil
		}
		return progressing("Waiting for Crossplane to report the Ready condition"), nil
	}
	return readyCheck{condition: "Ready", notYet: []string{"Creating", "Deleting"}}.judge(ready), nil
}

// crossplanePackageHealth: a package (Provider, Configuration, Function) is
// Healthy when its revision is Installed and Healthy; an unhealthy revision
// (Healthy False) is Degraded; anything else is still installing.
func crossplanePackageHealth(obj *unstructured.Unstructured) (Result, error) {
	if res, stale := staleGeneration(obj); stale {
		return res, nil
	}
	conds := readConditions(obj)
	installed := findCondition(conds, "Installed")
	health := findCondition(conds, "Healthy")
	if health != nil && health.Status == "False" {
		return degraded("%s", conditionMessage(health.Reason, health.Message)), nil
	}
	if installed != nil && installed.Status == "False" && installed.Reason != "UnpackingPackage" {
		// An inactive revision (a Provider's older revision) is not broken,
		// but the package object itself waits for an active one.
		return progressing("%s", conditionMessage(installed.Reason, installed.Message)), nil
	}
	if !isTrue(installed) {
		return progressing("Waiting for the package to be installed"), nil
	}
	if !isTrue(health) {
		return progressing("Waiting for the package to become healthy"), nil
	}
	return healthy("%s", health.Message), nil
}

// crossplaneXRDHealth: a CompositeResourceDefinition serves its composite
// kind once Established, and its claim kind once Offered when it names one.
func crossplaneXRDHealth(obj *unstructured.Unstructured) (Result, error) {
	conds := readConditions(obj)
	if c := findCondition(conds, "Established"); !isTrue(c) {
		if c != nil {
			return progressing("%s", conditionMessage(c.Reason, c.Message)), nil
		}
		return progressing("Waiting for the composite resource definition to be established"), nil
	}
	if nested(obj.Object, "spec", "claimNames") != nil {
		if c := findCondition(conds, "Offered"); !isTrue(c) {
			return progressing("Waiting for the claim kind to be offered"), nil
		}
	}
	return Result{Status: Healthy}, nil
}
