package health

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// tektonChecks: Tekton Pipelines (group tekton.dev). A run reports one
// condition, Succeeded: Unknown while it runs (reasons Started, Running,
// Pending, ToBeRetried), True when it succeeded, False when it failed, timed
// out or was cancelled. A run created with spec.status PipelineRunPending
// or TaskRunPending waits for someone to start it.
var tektonChecks = map[schema.GroupKind]builtinCheck{
	{Group: "tekton.dev", Kind: "PipelineRun"}: tektonRunHealth,
	{Group: "tekton.dev", Kind: "TaskRun"}:     tektonRunHealth,
	{Group: "tekton.dev", Kind: "CustomRun"}:   tektonRunHealth,
}

func tektonRunHealth(obj *unstructured.Unstructured) (Result, error) {
	c := findCondition(readConditions(obj), "Succeeded")
	if c == nil {
		if strings.HasSuffix(stringField(obj, "spec", "status"), "Pending") {
			return suspended("%s is pending: it starts when spec.status is cleared", obj.GetKind()), nil
		}
		return progressing("Waiting for the %s to start", obj.GetKind()), nil
	}
	msg := conditionMessage(c.Reason, c.Message)
	switch c.Status {
	case "True":
		return healthy("%s", c.Message), nil
	case "False":
		return degraded("%s", msg), nil
	}
	if c.Reason == "PipelineRunPending" || c.Reason == "TaskRunPending" {
		return suspended("%s", msg), nil
	}
	return progressing("%s", msg), nil
}
