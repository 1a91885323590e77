package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kedaChecks: KEDA (group keda.sh). ScaledObjects and ScaledJobs report
// Ready (the scaler is configured and works), Active (there is something to
// scale: informational, an idle ScaledObject is healthy), Fallback (a
// scaler fails and KEDA uses the fallback replica count) and Paused
// (autoscaling stopped on purpose with the paused annotations).
var kedaChecks = map[schema.GroupKind]builtinCheck{
	{Group: "keda.sh", Kind: "ScaledObject"}: kedaHealth,
	{Group: "keda.sh", Kind: "ScaledJob"}:    kedaHealth,
}

func kedaHealth(obj *unstructured.Unstructured) (Result, error) {
	conds := readConditions(obj)
	if c := findCondition(conds, "Paused"); isTrue(c) {
		return suspended("%s", conditionMessage(c.Reason, c.Message)), nil
	}
	if c := findCondition(conds, "Fallback"); isTrue(c) {
		return degraded("%s", conditionMessage(c.Reason, c.Message)), nil
	}
	return readyCheck{condition: "Ready"}.check(obj)
}
