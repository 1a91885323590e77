package health

import "k8s.io/apimachinery/pkg/runtime/schema"

// knativeCheck: every Knative object reports status.observedGeneration and
// a Ready condition that sums up its other conditions: True when ready,
// Unknown while it is being reconciled (a revision starting, a route
// waiting for its ingress), False when reconciliation failed (an image that
// cannot be pulled, a revision that failed to become ready, a domain
// conflict). A revision scaled to zero stays Ready.
var knativeCheck = readyCheck{condition: "Ready"}.check

// knativeChecks: Knative Serving and Eventing.
var knativeChecks = map[schema.GroupKind]builtinCheck{
	{Group: "serving.knative.dev", Kind: "Service"}:       knativeCheck,
	{Group: "serving.knative.dev", Kind: "Configuration"}: knativeCheck,
	{Group: "serving.knative.dev", Kind: "Revision"}:      knativeCheck,
	{Group: "serving.knative.dev", Kind: "Route"}:         knativeCheck,
	{Group: "serving.knative.dev", Kind: "DomainMapping"}: knativeCheck,
	{Group: "eventing.knative.dev", Kind: "Broker"}:       knativeCheck,
	{Group: "eventing.knative.dev", Kind: "Trigger"}:      knativeCheck,
}
