package health

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// gatewayChecks: the Gateway API (group gateway.networking.k8s.io).
var gatewayChecks = map[schema.GroupKind]builtinCheck{
	{Group: "gateway.networking.k8s.io", Kind: "GatewayClass"}: gatewayClassHealth,
	{Group: "gateway.networking.k8s.io", Kind: "Gateway"}:      gatewayHealth,
	{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}:    routeHealth,
	{Group: "gateway.networking.k8s.io", Kind: "GRPCRoute"}:    routeHealth,
	{Group: "gateway.networking.k8s.io", Kind: "TLSRoute"}:     routeHealth,
	{Group: "gateway.networking.k8s.io", Kind: "TCPRoute"}:     routeHealth,
	{Group: "gateway.networking.k8s.io", Kind: "UDPRoute"}:     routeHealth,
}

// gatewayPending is the reason the API defines for a condition no
// controller has assessed yet (the default, with status Unknown).
const gatewayPending = "Pending"

// gatewayClassHealth: a controller that supports the class sets Accepted
// True; False means it refuses the class (reason InvalidParameters or
// UnsupportedVersion).
func gatewayClassHealth(obj *unstructured.Unstructured) (Result, error) {
	return readyCheck{condition: "Accepted", notYet: []string{gatewayPending, "Waiting"}}.check(obj)
}

// gatewayHealth: Accepted says whether the controller accepted the
// Gateway's spec, Programmed whether the data plane is configured and
// ready for traffic. Accepted False (reasons Invalid, UnsupportedAddress,
// ...) is Degraded; Programmed False is Degraded too, except with reason
// Pending (still being set up).
func gatewayHealth(obj *unstructured.Unstructured) (Result, error) {
	conds := readConditions(obj)
	accepted := findCondition(conds, "Accepted")
	programmed := findCondition(conds, "Programmed")
	for _, c := range []*condition{accepted, programmed} {
		if res, stale := staleCondition(obj, c); stale {
			return res, nil
		}
	}
	if accepted != nil && accepted.Status == "False" && accepted.Reason != gatewayPending {
		return degraded("%s", conditionMessage(accepted.Reason, accepted.Message)), nil
	}
	return readyCheck{condition: "Programmed", notYet: []string{gatewayPending}}.judge(programmed), nil
}

// routeHealth: a route's status lists the parents (Gateways) that
// considered it, each with Accepted (the Gateway attached the route) and
// ResolvedRefs (every backend and filter reference resolved). A route is
// Healthy when every parent accepted it with resolved references; a parent
// that refuses it (Accepted False: NotAllowedByListeners, NoMatchingParent,
// ...) or a reference that does not resolve (BackendNotFound,
// RefNotPermitted, ...) makes it Degraded; a route no Gateway reported on
// yet is Progressing.
func routeHealth(obj *unstructured.Unstructured) (Result, error) {
	parents, _ := nested(obj.Object, "status", "parents").([]any)
	if len(parents) == 0 {
		return progressing("Waiting for a Gateway to accept the route"), nil
	}
	var waiting []string
	for _, p := range parents {
		pm, _ := p.(map[string]any)
		name := routeParentName(pm)
		conds := readConditions(&unstructured.Unstructured{Object: map[string]any{"status": pm}})
		for _, typ := range []string{"Accepted", "ResolvedRefs"} {
			c := findCondition(conds, typ)
			if res, stale := staleCondition(obj, c); stale {
				return res, nil
			}
			switch {
			case c == nil || c.Status == "Unknown" || c.Reason == gatewayPending:
				waiting = append(waiting, name)
			case c.Status == "False":
				return degraded("%s: %s", name, conditionMessage(c.Reason, c.Message)), nil
			}
		}
	}
	if len(waiting) > 0 {
		return progressing("Waiting for %s to accept the route", strings.Join(dedupe(waiting), ", ")), nil
	}
	return Result{Status: Healthy}, nil
}

// routeParentName names a route's parent for messages: Gateway "ns/name/section",
// with the parts the reference sets.
func routeParentName(parent map[string]any) string {
	ref, _ := parent["parentRef"].(map[string]any)
	kind, _ := ref["kind"].(string)
	name, _ := ref["name"].(string)
	if kind == "" {
		kind = "Gateway"
	}
	if ns, _ := ref["namespace"].(string); ns != "" {
		name = ns + "/" + name
	}
	if sec, _ := ref["sectionName"].(string); sec != "" {
		name += "/" + sec
	}
	return fmt.Sprintf("%s %q", kind, name)
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
