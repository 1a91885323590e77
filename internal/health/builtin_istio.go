package health

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// istioChecks: Istio's configuration kinds. With status writing enabled,
// istiod adds to each a Reconciled condition (the configuration reached the
// proxies) and validationMessages from its analyzers, each with a level
// (ERROR, WARNING, INFO). Without it they have no status and are Healthy.
var istioChecks = map[schema.GroupKind]builtinCheck{
	{Group: "networking.istio.io", Kind: "VirtualService"}:      istioConfigHealth,
	{Group: "networking.istio.io", Kind: "DestinationRule"}:     istioConfigHealth,
	{Group: "networking.istio.io", Kind: "Gateway"}:             istioConfigHealth,
	{Group: "networking.istio.io", Kind: "ServiceEntry"}:        istioConfigHealth,
	{Group: "networking.istio.io", Kind: "Sidecar"}:             istioConfigHealth,
	{Group: "networking.istio.io", Kind: "WorkloadEntry"}:       istioConfigHealth,
	{Group: "networking.istio.io", Kind: "WorkloadGroup"}:       istioConfigHealth,
	{Group: "networking.istio.io", Kind: "EnvoyFilter"}:         istioConfigHealth,
	{Group: "security.istio.io", Kind: "AuthorizationPolicy"}:   istioConfigHealth,
	{Group: "security.istio.io", Kind: "PeerAuthentication"}:    istioConfigHealth,
	{Group: "security.istio.io", Kind: "RequestAuthentication"}: istioConfigHealth,
	{Group: "telemetry.istio.io", Kind: "Telemetry"}:            istioConfigHealth,
	{Group: "install.istio.io", Kind: "IstioOperator"}:          istioOperatorHealth,
}

// istioConfigHealth: an analyzer message of level ERROR means the
// configuration is broken (a missing referenced host or gateway, a
// conflict); Reconciled False means the proxies do not have it yet.
func istioConfigHealth(obj *unstructured.Unstructured) (Result, error) {
	msgs, _ := nested(obj.Object, "status", "validationMessages").([]any)
	var errs []string
	for _, m := range msgs {
		mm, _ := m.(map[string]any)
		if level, _ := mm["level"].(string); level != "ERROR" {
			continue
		}
		code, _ := nested(mm, "type", "code").(string)
		name, _ := nested(mm, "type", "name").(string)
		errs = append(errs, strings.TrimSpace(fmt.Sprintf("%s %s", code, name)))
	}
	if len(errs) > 0 {
		return degraded("Istio analysis found errors: %s", strings.Join(errs, ", ")), nil
	}
	if res, stale := staleGeneration(obj); stale {
		return res, nil
	}
	if c := findCondition(readConditions(obj), "Reconciled"); c != nil && c.Status != "True" {
		return progressing("%s", firstNonEmpty(conditionMessage(c.Reason, c.Message), "Waiting for the proxies to receive the configuration")), nil
	}
	return Result{Status: Healthy}, nil
}

// istioOperatorHealth reads status.status: HEALTHY, ERROR, or one of the
// states of an installation under way (NONE, UPDATING, RECONCILING).
func istioOperatorHealth(obj *unstructured.Unstructured) (Result, error) {
	switch s := stringField(obj, "status", "status"); s {
	case "HEALTHY":
		return Result{Status: Healthy}, nil
	case "ERROR":
		return degraded("Istio installation failed: %s", firstNonEmpty(stringField(obj, "status", "message"), "status ERROR")), nil
	case "":
		return progressing("Waiting for the Istio operator to report status"), nil
	default:
		return progressing("Istio installation is %s", strings.ToLower(s)), nil
	}
}
