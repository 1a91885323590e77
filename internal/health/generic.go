package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// condition is the part of a status condition that health reads; it fits
// metav1.Condition and the older per-kind condition types alike.
type condition struct {
	Type, Status, Reason, Message string
	// ObservedGeneration is the metadata.generation the condition was
	// computed from; zero when the controller does not record it.
	ObservedGeneration int64
}

// readConditions returns status.conditions, skipping malformed entries.
func readConditions(obj *unstructured.Unstructured) []condition {
	list, _ := nested(obj.Object, "status", "conditions").([]any)
	conds := make([]condition, 0, len(list))
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		gen, _ := toInt64(m["observedGeneration"])
		conds = append(conds, condition{
			Type: str("type"), Status: str("status"), Reason: str("reason"), Message: str("message"),
			ObservedGeneration: gen,
		})
	}
	return conds
}

func findCondition(conds []condition, typ string) *condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// progressingReasons are reasons of a False Ready condition that, by common
// convention, mean "not ready yet" rather than "failed".
var progressingReasons = map[string]bool{
	"Progressing":        true,
	"Reconciling":        true,
	"InProgress":         true,
	"Pending":            true,
	"Creating":           true,
	"Provisioning":       true,
	"Initializing":       true,
	"Waiting":            true,
	"DependencyNotReady": true,
}

// generic assesses kinds without a dedicated check, following the kstatus
// conventions that most controllers (Flux, Crossplane, cert-manager,
// controller-runtime operators, ...) implement:
//
//   - status.observedGeneration behind metadata.generation: the controller
//     has not acted on the latest spec yet, so the rest of the status is
//     stale: Progressing.
//   - Stalled, Degraded or Failed True: Degraded.
//   - Reconciling True: Progressing, except with reason ProgressingWithRetry
//     next to Ready False (a failure being retried): Degraded.
//   - Ready (else Available) True: Healthy; Unknown: Progressing; False:
//     Progressing when its reason says "not yet" (progressingReasons),
//     Degraded otherwise.
//
// An object with no status, or none of these conditions, is Healthy: like
// kstatus "Current", a ConfigMap or a CRD whose controller writes no status
// is as healthy as it can tell.
func generic(obj *unstructured.Unstructured) Result {
	status, _ := obj.Object["status"].(map[string]any)
	if len(status) == 0 {
		return Result{Status: Healthy}
	}
	gen := obj.GetGeneration()
	if observed, ok := toInt64(status["observedGeneration"]); ok && observed < gen {
		return progressing("Waiting for the controller to observe generation %d (last observed %d)", gen, observed)
	}
	conds := readConditions(obj)
	for _, typ := range []string{"Stalled", "Degraded", "Failed"} {
		if c := findCondition(conds, typ); c != nil && c.Status == "True" {
			return degraded("%s", conditionMessage(c.Reason, c.Message))
		}
	}
	ready := findCondition(conds, "Ready") // the kstatus convention of any kind, not only soll's
	if ready == nil {
		ready = findCondition(conds, "Available")
	}
	if c := findCondition(conds, "Reconciling"); c != nil && c.Status == "True" {
		// Reason ProgressingWithRetry next to a False summary: a failed
		// reconciliation being retried.
		if c.Reason == "ProgressingWithRetry" && ready != nil && ready.Status == "False" {
			return degraded("%s", conditionMessage(ready.Reason, ready.Message))
		}
		return progressing("%s", conditionMessage(c.Reason, c.Message))
	}
	if ready == nil {
		return Result{Status: Healthy}
	}
	if ready.ObservedGeneration > 0 && ready.ObservedGeneration < gen {
		return progressing("Waiting for the controller to observe generation %d (%s condition is for generation %d)", gen, ready.Type, ready.ObservedGeneration)
	}
	msg := conditionMessage(ready.Reason, ready.Message)
	switch ready.Status {
	case "True":
		return healthy("%s", ready.Message)
	case "False":
		if progressingReasons[ready.Reason] {
			return progressing("%s", msg)
		}
		return degraded("%s", msg)
	}
	return progressing("%s", msg)
}

// nested returns the value at path in m, or nil.
func nested(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

// toInt64 reads a JSON number: int64 when decoded by apimachinery, float64
// when decoded by encoding/json.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		return int64(n), true
	}
	return 0, false
}
