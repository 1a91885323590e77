package health

import (
	"encoding/json"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func ingressHealth(obj *unstructured.Unstructured) (Result, error) {
	var i networkingv1.Ingress
	if err := decode(obj, &i); err != nil {
		return Result{}, err
	}
	if len(i.Status.LoadBalancer.Ingress) == 0 {
		return progressing("Waiting for the ingress controller to assign an address"), nil
	}
	return Result{Status: Healthy}, nil
}

// hpaConditionsAnnotation holds the conditions of an autoscaling/v1 object,
// whose schema has no status.conditions.
const hpaConditionsAnnotation = "autoscaling.alpha.kubernetes.io/conditions"

// hpaHealth reads the autoscaler's conditions: AbleToScale (can it read and
// change the target's scale?) and ScalingActive (can it compute a replica
// count from its metrics?).
func hpaHealth(obj *unstructured.Unstructured) (Result, error) {
	var h autoscalingv2.HorizontalPodAutoscaler
	if err := decode(obj, &h); err != nil {
		return Result{}, err
	}
	conds := h.Status.Conditions
	if ann := h.Annotations[hpaConditionsAnnotation]; len(conds) == 0 && ann != "" {
		if err := json.Unmarshal([]byte(ann), &conds); err != nil {
			return Result{}, fmt.Errorf("decode annotation %s: %w", hpaConditionsAnnotation, err)
		}
	}
	var able, active *autoscalingv2.HorizontalPodAutoscalerCondition
	for i := range conds {
		switch conds[i].Type {
		case autoscalingv2.AbleToScale:
			able = &conds[i]
		case autoscalingv2.ScalingActive:
			active = &conds[i]
		}
	}
	if able != nil && able.Status == corev1.ConditionFalse {
		// FailedGetScale, FailedUpdateScale: the target is missing or refuses.
		return degraded("%s", conditionMessage(able.Reason, able.Message)), nil
	}
	if active != nil && active.Status == corev1.ConditionFalse {
		// The target was scaled to zero on purpose.
		if active.Reason == "ScalingDisabled" {
			return Result{Status: Suspended, Message: conditionMessage(active.Reason, active.Message)}, nil
		}
		// FailedGetResourceMetric, InvalidSelector, ...: metrics missing or
		// misconfigured, so the autoscaler cannot do its job.
		return degraded("%s", conditionMessage(active.Reason, active.Message)), nil
	}
	if able == nil || active == nil || able.Status != corev1.ConditionTrue || active.Status != corev1.ConditionTrue {
		return progressing("Waiting for the autoscaler to assess its target"), nil
	}
	return healthy("%s", active.Message), nil
}

// apiServiceHealth reads the Available condition the aggregator maintains.
// An unavailable APIService is Progressing, not Degraded: it is the normal
// state while the serving Deployment starts, and it recovers by itself.
func apiServiceHealth(obj *unstructured.Unstructured) (Result, error) {
	c := findCondition(readConditions(obj), "Available")
	switch {
	case c == nil:
		return progressing("Waiting for the API service to become available"), nil
	case c.Status == "True":
		return healthy("%s", c.Message), nil
	}
	return progressing("%s", conditionMessage(c.Reason, c.Message)), nil
}

// crdHealth: a CRD serves its kind once Established; names that clash with
// another CRD (NamesAccepted False) never resolve by themselves.
func crdHealth(obj *unstructured.Unstructured) (Result, error) {
	conds := readConditions(obj)
	if c := findCondition(conds, "NamesAccepted"); c != nil && c.Status == "False" {
		return degraded("%s", conditionMessage(c.Reason, c.Message)), nil
	}
	if c := findCondition(conds, "Established"); c != nil && c.Status == "True" {
		return Result{Status: Healthy}, nil
	}
	return progressing("Waiting for the CustomResourceDefinition to be established"), nil
}
