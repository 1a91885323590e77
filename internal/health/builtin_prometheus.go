package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// prometheusChecks: the Prometheus operator's workload kinds (group
// monitoring.coreos.com). Each reports Reconciled (the operator applied the
// spec: False when the spec cannot be applied) and Available, whose status
// is True (all replicas available), Degraded (some are not) or False (none
// is yet). spec.paused stops the operator from acting on the object.
var prometheusChecks = map[schema.GroupKind]builtinCheck{
	{Group: "monitoring.coreos.com", Kind: "Prometheus"}:      prometheusHealth,
	{Group: "monitoring.coreos.com", Kind: "PrometheusAgent"}: prometheusHealth,
	{Group: "monitoring.coreos.com", Kind: "Alertmanager"}:    prometheusHealth,
	{Group: "monitoring.coreos.com", Kind: "ThanosRuler"}:     prometheusHealth,
}

// prometheusHealth: Available False (no replica available yet) is
// Progressing rather than Degraded: it is also the state of every new or
// restarting instance; the pods' own health says whether they crash.
func prometheusHealth(obj *unstructured.Unstructured) (Result, error) {
	if boolField(obj, "spec", "paused") {
		return suspended("%s is paused", obj.GetKind()), nil
	}
	if res, stale := staleGeneration(obj); stale {
		return res, nil
	}
	conds := readConditions(obj)
	for _, c := range []*condition{findCondition(conds, "Reconciled"), findCondition(conds, "Available")} {
		if res, stale := staleCondition(obj, c); stale {
			return res, nil
		}
	}
	if c := findCondition(conds, "Reconciled"); c != nil && c.Status == "False" {
		return degraded("%s", conditionMessage(c.Reason, c.Message)), nil
	}
	c := findCondition(conds, "Available")
	switch {
	case c == nil:
		return progressing("Waiting for the operator to report the Available condition"), nil
	case c.Status == "True":
		return healthy("%s", c.Message), nil
	case c.Status == "Degraded":
		return degraded("%s", conditionMessage(c.Reason, c.Message)), nil
	}
	return progressing("%s", conditionMessage(c.Reason, c.Message)), nil
}
