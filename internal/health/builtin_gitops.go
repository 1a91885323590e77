package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// gitopsChecks: Applications, soll's own (soll.dev) and Argo CD's
// (argoproj.io), as the resources of an app of apps. An Application's
// health is the health it reports of its own objects (status.health), so
// a parent app waits for its children's objects, wave by wave, and an
// OutOfSync child is not mistaken for a failed one, as the generic check
// would read soll's Ready condition (False while OutOfSync).
var gitopsChecks = map[schema.GroupKind]builtinCheck{
	{Group: "soll.dev", Kind: "Application"}:    applicationHealth,
	{Group: "argoproj.io", Kind: "Application"}: applicationHealth,
}

func applicationHealth(obj *unstructured.Unstructured) (Result, error) {
	if suspend, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend"); suspend && obj.GroupVersionKind().Group == "soll.dev" {
		return suspended("reconciliation is suspended (spec.suspend)"), nil
	}
	status := Status(stringField(obj, "status", "health", "status"))
	msg := stringField(obj, "status", "health", "message")
	switch status {
	case Healthy, Progressing, Degraded, Suspended, Missing, Unknown:
		return Result{Status: status, Message: msg}, nil
	case "":
		return progressing("waiting for the application's first comparison"), nil
	default:
		return Result{Status: Unknown, Message: "unknown health status " + string(status) + " in status.health"}, nil
	}
}
