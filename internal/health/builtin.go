package health

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// builtinCheck assesses one well-known kind. It returns an error only when
// the object cannot be decoded.
type builtinCheck func(obj *unstructured.Unstructured) (Result, error)

// builtins maps the well-known kinds to their checks. Older API groups of a
// kind (extensions/v1beta1 Deployments, ...) share the check: the fields it
// reads kept their JSON names, so every version decodes into the current type.
var builtins = map[schema.GroupKind]builtinCheck{
	{Group: "apps", Kind: "Deployment"}:                               deploymentHealth,
	{Group: "extensions", Kind: "Deployment"}:                         deploymentHealth,
	{Group: "apps", Kind: "StatefulSet"}:                              statefulSetHealth,
	{Group: "apps", Kind: "DaemonSet"}:                                daemonSetHealth,
	{Group: "extensions", Kind: "DaemonSet"}:                          daemonSetHealth,
	{Group: "apps", Kind: "ReplicaSet"}:                               replicaSetHealth,
	{Group: "extensions", Kind: "ReplicaSet"}:                         replicaSetHealth,
	{Group: "", Kind: "Pod"}:                                          podHealth,
	{Group: "", Kind: "Service"}:                                      serviceHealth,
	{Group: "", Kind: "PersistentVolumeClaim"}:                        pvcHealth,
	{Group: "", Kind: "Namespace"}:                                    namespaceHealth,
	{Group: "batch", Kind: "Job"}:                                     jobHealth,
	{Group: "batch", Kind: "CronJob"}:                                 cronJobHealth,
	{Group: "networking.k8s.io", Kind: "Ingress"}:                     ingressHealth,
	{Group: "extensions", Kind: "Ingress"}:                            ingressHealth,
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}:           hpaHealth,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:             apiServiceHealth,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}: crdHealth,
}

// decode converts obj into the typed struct into.
func decode(obj *unstructured.Unstructured, into any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into); err != nil {
		return fmt.Errorf("decode %s: %w", obj.GetKind(), err)
	}
	return nil
}

func healthy(format string, args ...any) Result {
	return Result{Status: Healthy, Message: fmt.Sprintf(format, args...)}
}

func progressing(format string, args ...any) Result {
	return Result{Status: Progressing, Message: fmt.Sprintf(format, args...)}
}

func degraded(format string, args ...any) Result {
	return Result{Status: Degraded, Message: fmt.Sprintf(format, args...)}
}

// replicas returns the desired replica count; the API server defaults a
// missing spec.replicas to 1.
func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// conditionMessage is what a condition says for people: its message, else
// its reason.
func conditionMessage(reason, message string) string {
	if message != "" {
		return message
	}
	return reason
}
