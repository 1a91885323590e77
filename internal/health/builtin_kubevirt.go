package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kubevirtChecks: KubeVirt virtual machines and CDI data volumes.
var kubevirtChecks = map[schema.GroupKind]builtinCheck{
	{Group: "kubevirt.io", Kind: "VirtualMachine"}:         virtualMachineHealth,
	{Group: "kubevirt.io", Kind: "VirtualMachineInstance"}: virtualMachineInstanceHealth,
	{Group: "cdi.kubevirt.io", Kind: "DataVolume"}:         dataVolumeHealth,
}

// virtualMachineHealth reads status.printableStatus, the one-word state
// KubeVirt derives for people: Running is Healthy; Stopped and Paused
// were asked for (Suspended); the Err*, *BackOff, *NotFound and Error*
// states need a person (Degraded); the rest (Provisioning, Starting,
// Stopping, Terminating, Migrating, WaitingForVolumeBinding, ...) are on
// the way.
func virtualMachineHealth(obj *unstructured.Unstructured) (Result, error) {
	if res, stale := staleGeneration(obj); stale {
		return res, nil
	}
	conds := readConditions(obj)
	if c := findCondition(conds, "Failure"); isTrue(c) {
		return degraded("%s", conditionMessage(c.Reason, c.Message)), nil
	}
	switch s := stringField(obj, "status", "printableStatus"); s {
	case "Running":
		if c := findCondition(conds, "Ready"); c != nil && c.Status == "False" {
			return progressing("%s", conditionMessage(c.Reason, c.Message)), nil
		}
		return Result{Status: Healthy}, nil
	case "Stopped", "Paused":
		return suspended("VirtualMachine is %s", lowerFirst(s)), nil
	case "CrashLoopBackOff", "ErrorUnschedulable", "ErrImagePull", "ImagePullBackOff",
		"ErrorPvcNotFound", "ErrorDataVolumeNotFound", "DataVolumeError", "Unknown":
		msg := "VirtualMachine is in state " + s
		if c := findCondition(conds, "Ready"); c != nil && c.Message != "" {
			msg += ": " + c.Message
		}
		return degraded("%s", msg), nil
	case "":
		return progressing("Waiting for KubeVirt to report the virtual machine's state"), nil
	default:
		return progressing("VirtualMachine is %s", lowerFirst(s)), nil
	}
}

// virtualMachineInstanceHealth reads status.phase: Running (Healthy once
// the Ready condition is True; Suspended when the guest is paused),
// Succeeded (the guest shut down by itself), Failed, or on the way
// (Pending, Scheduling, Scheduled).
func virtualMachineInstanceHealth(obj *unstructured.Unstructured) (Result, error) {
	conds := readConditions(obj)
	switch phase := stringField(obj, "status", "phase"); phase {
	case "Running":
		if c := findCondition(conds, "Paused"); isTrue(c) {
			return suspended("%s", firstNonEmpty(c.Message, "VirtualMachineInstance is paused")), nil
		}
		if c := findCondition(conds, "Ready"); c != nil && c.Status != "True" {
			return progressing("%s", conditionMessage(c.Reason, c.Message)), nil
		}
		return Result{Status: Healthy}, nil
	case "Succeeded":
		return healthy("The guest has shut down"), nil
	case "Failed":
		return degraded("VirtualMachineInstance failed"), nil
	case "Unknown":
		return degraded("The node of the VirtualMachineInstance cannot be reached"), nil
	case "":
		return progressing("Waiting for the virtual machine instance to be scheduled"), nil
	default:
		return progressing("VirtualMachineInstance is %s", lowerFirst(phase)), nil
	}
}

// dataVolumeHealth reads status.phase: Succeeded once imported, Failed, Paused
// (a warm import waiting for its final checkpoint), else on the way.
func dataVolumeHealth(obj *unstructured.Unstructured) (Result, error) {
	switch phase := stringField(obj, "status", "phase"); phase {
	case "Succeeded":
		return Result{Status: Healthy}, nil
	case "Failed":
		msg := "DataVolume failed"
		if c := findCondition(readConditions(obj), "Running"); c != nil && c.Message != "" {
			msg += ": " + c.Message
		}
		return degraded("%s", msg), nil
	case "Paused":
		return suspended("DataVolume import is paused"), nil
	case "":
		return progressing("Waiting for CDI to report the data volume's phase"), nil
	default:
		return progressing("DataVolume is in phase %s", phase), nil
	}
}

// lowerFirst turns a one-word state into a word for a sentence.
func lowerFirst(s string) string {
	if s != "" && s[0] >= 'A' && s[0] <= 'Z' {
		return string(s[0]-'A'+'a') + s[1:]
	}
	return s
}
