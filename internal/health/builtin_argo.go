package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// argoChecks: Argo Rollouts and Argo Workflows (group argoproj.io).
var argoChecks = map[schema.GroupKind]builtinCheck{
	{Group: "argoproj.io", Kind: "Rollout"}:      rolloutHealth,
	{Group: "argoproj.io", Kind: "AnalysisRun"}:  analysisRunHealth,
	{Group: "argoproj.io", Kind: "Experiment"}:   analysisRunHealth,
	{Group: "argoproj.io", Kind: "Workflow"}:     workflowHealth,
	{Group: "argoproj.io", Kind: "CronWorkflow"}: cronWorkflowHealth,
}

// rolloutHealth reads a Rollout's status: the controller sums its state up
// in status.phase (Healthy, Progressing, Paused, Degraded) with
// status.message. A paused rollout (spec.paused, or pause conditions from a
// pause step or an analysis) waits for a person on purpose: Suspended. An
// aborted one, or one whose spec is invalid (InvalidSpec condition), is
// Degraded. Older controllers without status.phase are read from the
// Progressing condition and the replica counts.
func rolloutHealth(obj *unstructured.Unstructured) (Result, error) {
	if res, stale := staleGeneration(obj); stale {
		return res, nil
	}
	conds := readConditions(obj)
	if c := findCondition(conds, "InvalidSpec"); isTrue(c) {
		return degraded("%s", conditionMessage(c.Reason, c.Message)), nil
	}
	msg := stringField(obj, "status", "message")
	if boolField(obj, "status", "abort") {
		return degraded("%s", firstNonEmpty(msg, "Rollout is aborted")), nil
	}
	if boolField(obj, "spec", "paused") {
		return suspended("Rollout is paused"), nil
	}
	if pcs, _ := nested(obj.Object, "status", "pauseConditions").([]any); len(pcs) > 0 {
		return suspended("%s", firstNonEmpty(msg, "Rollout is paused")), nil
	}
	switch stringField(obj, "status", "phase") {
	case "Healthy":
		return healthy("%s", msg), nil
	case "Progressing":
		return progressing("%s", firstNonEmpty(msg, "Rollout is progressing")), nil
	case "Paused":
		return suspended("%s", firstNonEmpty(msg, "Rollout is paused")), nil
	case "Degraded":
		return degraded("%s", firstNonEmpty(msg, "Rollout is degraded")), nil
	}
	if c := findCondition(conds, "Progressing"); c != nil && c.Reason == "ProgressDeadlineExceeded" {
		return degraded("%s", conditionMessage(c.Reason, c.Message)), nil
	}
	if c := findCondition(conds, "Available"); isTrue(c) {
		return healthy("%s", c.Message), nil
	}
	return progressing("Waiting for the rollout controller to report the rollout's phase"), nil
}

// analysisRunHealth: an AnalysisRun (and an Experiment) ends in phase
// Successful, Failed, Error or Inconclusive; Pending and Running are on the
// way. Inconclusive needs a person to decide: Suspended, as the Rollout
// that started it pauses.
func analysisRunHealth(obj *unstructured.Unstructured) (Result, error) {
	msg := stringField(obj, "status", "message")
	switch phase := stringField(obj, "status", "phase"); phase {
	case "Successful":
		return healthy("%s", msg), nil
	case "Failed", "Error":
		return degraded("%s", firstNonEmpty(msg, obj.GetKind()+" "+phase)), nil
	case "Inconclusive":
		return suspended("%s", firstNonEmpty(msg, obj.GetKind()+" is inconclusive")), nil
	case "":
		return progressing("Waiting for the %s to start", obj.GetKind()), nil
	default:
		return progressing("%s", firstNonEmpty(msg, obj.GetKind()+" is "+phase)), nil
	}
}

// workflowHealth: a Workflow's status.phase is Pending, Running, Succeeded,
// Failed or Error. A suspended workflow (spec.suspend, or a suspend step
// waiting to be resumed) is Suspended.
func workflowHealth(obj *unstructured.Unstructured) (Result, error) {
	msg := stringField(obj, "status", "message")
	phase := stringField(obj, "status", "phase")
	switch phase {
	case "Succeeded":
		return healthy("%s", msg), nil
	case "Failed", "Error":
		return degraded("%s", firstNonEmpty(msg, "Workflow "+phase)), nil
	}
	if boolField(obj, "spec", "suspend") {
		return suspended("Workflow is suspended"), nil
	}
	if phase == "" {
		return progressing("Waiting for the workflow to start"), nil
	}
	return progressing("%s", firstNonEmpty(msg, "Workflow is "+phase)), nil
}

// cronWorkflowHealth: suspended on purpose with spec.suspend; a
// SubmissionError condition means its workflows cannot be created.
func cronWorkflowHealth(obj *unstructured.Unstructured) (Result, error) {
	if boolField(obj, "spec", "suspend") {
		return suspended("CronWorkflow is suspended"), nil
	}
	if c := findCondition(readConditions(obj), "SubmissionError"); isTrue(c) {
		return degraded("%s", conditionMessage(c.Reason, c.Message)), nil
	}
	return Result{Status: Healthy}, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
