package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// strimziChecks: Strimzi's Kafka kinds (group kafka.strimzi.io). The
// operator writes status.observedGeneration and one summary condition: Ready
// True after a successful reconciliation, or NotReady True with the error
// (reason Creating while a new cluster is deployed); Warning conditions
// are advice and do not change health. The annotation
// strimzi.io/pause-reconciliation shows as ReconciliationPaused True.
var strimziChecks = map[schema.GroupKind]builtinCheck{
	{Group: "kafka.strimzi.io", Kind: "Kafka"}:             strimziHealth,
	{Group: "kafka.strimzi.io", Kind: "KafkaNodePool"}:     strimziHealth,
	{Group: "kafka.strimzi.io", Kind: "KafkaTopic"}:        strimziHealth,
	{Group: "kafka.strimzi.io", Kind: "KafkaUser"}:         strimziHealth,
	{Group: "kafka.strimzi.io", Kind: "KafkaConnect"}:      strimziHealth,
	{Group: "kafka.strimzi.io", Kind: "KafkaConnector"}:    strimziConnectorHealth,
	{Group: "kafka.strimzi.io", Kind: "KafkaMirrorMaker2"}: strimziHealth,
	{Group: "kafka.strimzi.io", Kind: "KafkaBridge"}:       strimziHealth,
	{Group: "kafka.strimzi.io", Kind: "KafkaRebalance"}:    strimziRebalanceHealth,
}

func strimziHealth(obj *unstructured.Unstructured) (Result, error) {
	conds := readConditions(obj)
	if c := findCondition(conds, "ReconciliationPaused"); isTrue(c) {
		return suspended("%s", firstNonEmpty(c.Message, "Reconciliation is paused")), nil
	}
	if res, stale := staleGeneration(obj); stale {
		return res, nil
	}
	if c := findCondition(conds, "NotReady"); isTrue(c) {
		if c.Reason == "Creating" {
			return progressing("%s", conditionMessage(c.Reason, c.Message)), nil
		}
		return degraded("%s", conditionMessage(c.Reason, c.Message)), nil
	}
	c := findCondition(conds, "Ready")
	if c == nil {
		return progressing("Waiting for the Strimzi operator to report the Ready condition"), nil
	}
	return readyCheck{condition: "Ready"}.judge(c), nil
}

// strimziConnectorHealth: a connector stopped or paused on purpose
// (spec.state) is Suspended; otherwise as strimziHealth.
func strimziConnectorHealth(obj *unstructured.Unstructured) (Result, error) {
	switch stringField(obj, "spec", "state") {
	case "paused", "stopped":
		return suspended("Connector is %s", stringField(obj, "spec", "state")), nil
	}
	if boolField(obj, "spec", "pause") {
		return suspended("Connector is paused"), nil
	}
	return strimziHealth(obj)
}

// strimziRebalanceHealth: a KafkaRebalance's one True condition is its
// state: New, PendingProposal and Rebalancing are under way; ProposalReady
// waits for a person to approve the proposal, Stopped was stopped by one
// (both Suspended); Ready means the rebalance is done; NotReady failed.
func strimziRebalanceHealth(obj *unstructured.Unstructured) (Result, error) {
	for _, c := range readConditions(obj) {
		if c.Status != "True" {
			continue
		}
		msg := conditionMessage(c.Reason, c.Message)
		switch c.Type {
		case "Ready":
			return healthy("%s", c.Message), nil
		case "NotReady":
			return degraded("%s", msg), nil
		case "ProposalReady":
			return suspended("%s", firstNonEmpty(c.Message, "Rebalance proposal is ready and waits for approval")), nil
		case "Stopped", "ReconciliationPaused":
			return suspended("%s", firstNonEmpty(c.Message, "Rebalance is "+c.Type)), nil
		case "New", "PendingProposal", "Rebalancing":
			return progressing("%s", firstNonEmpty(c.Message, "Rebalance is "+c.Type)), nil
		}
	}
	return progressing("Waiting for the Strimzi operator to report the rebalance's state"), nil
}
