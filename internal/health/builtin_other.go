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

// hpaHealth reads the autoscaler's conditions in the order the controller
// writes them (AbleToScale, ScalingActive, ScalingLimited); the first one
// that carries a verdict decides:
//
//   - AbleToScale False (FailedGetScale, FailedUpdateScale): the target is
//     missing or refuses to scale: Degraded. AbleToScale True with reason
//     SucceededRescale: it just scaled its target: Healthy. Its other True
//     reasons (ReadyForNewScale, SucceededGetScale, ...) carry no verdict:
//     the conditions after it still can tell that metrics fail.
//   - ScalingActive True: it computes replica counts: Healthy. False with
//     reason ScalingDisabled: the target was scaled to zero on purpose and
//     the autoscaler stands by: Suspended, not an error. False otherwise
//     (FailedGetResourceMetric, InvalidSelector, ...): Degraded.
//   - ScalingLimited, True or False: a replica count was computed: Healthy.
//
// With no verdict, an autoscaler able to scale (AbleToScale True) is
// Healthy; one with no conditions has not assessed its target yet.
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
	for _, c := range conds {
		msg := conditionMessage(c.Reason, c.Message)
		switch {
		case c.Type == autoscalingv2.AbleToScale && c.Status == corev1.ConditionTrue && c.Reason == "SucceededRescale":
			return healthy("%s", c.Message), nil
		case c.Type == autoscalingv2.AbleToScale && c.Status == corev1.ConditionFalse:
			return degraded("%s", msg), nil
		case c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionTrue:
			return healthy("%s", c.Message), nil
		case c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse && c.Reason == "ScalingDisabled":
			return Result{Status: Suspended, Message: msg}, nil
		case c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse:
			return degraded("%s", msg), nil
		case c.Type == autoscalingv2.ScalingLimited && c.Status != corev1.ConditionUnknown:
			return healthy("%s", c.Message), nil
		}
	}
	for _, c := range conds {
		if c.Type == autoscalingv2.AbleToScale && c.Status == corev1.ConditionTrue {
			return healthy("%s", c.Message), nil
		}
	}
	return progressing("Waiting for the autoscaler to assess its target"), nil
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
