package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// veleroChecks: Velero (group velero.io). Backups and restores move
// through phases (New, InProgress, WaitingForPluginOperations...,
// Finalizing...) to Completed, PartiallyFailed or Failed; a spec Velero
// refuses ends in FailedValidation.
var veleroChecks = map[schema.GroupKind]builtinCheck{
	{Group: "velero.io", Kind: "Backup"}:                veleroRunHealth,
	{Group: "velero.io", Kind: "Restore"}:               veleroRunHealth,
	{Group: "velero.io", Kind: "Schedule"}:              veleroScheduleHealth,
	{Group: "velero.io", Kind: "BackupStorageLocation"}: veleroLocationHealth,
}

func veleroRunHealth(obj *unstructured.Unstructured) (Result, error) {
	kind := obj.GetKind()
	switch phase := stringField(obj, "status", "phase"); phase {
	case "Completed":
		return healthy("%s completed", kind), nil
	case "PartiallyFailed":
		return degraded("%s partially failed: %d errors", kind, veleroCount(obj, "errors")), nil
	case "Failed":
		return degraded("%s failed%s", kind, suffix(": ", stringField(obj, "status", "failureReason"))), nil
	case "FailedValidation":
		return degraded("%s failed validation%s", kind, suffix(": ", veleroValidationErrors(obj))), nil
	case "", "New":
		return progressing("Waiting for Velero to start the %s", lowerFirst(kind)), nil
	default:
		return progressing("%s is in phase %s", kind, phase), nil
	}
}

// veleroScheduleHealth: a Schedule is Enabled once validated; spec.paused
// stops it on purpose.
func veleroScheduleHealth(obj *unstructured.Unstructured) (Result, error) {
	if boolField(obj, "spec", "paused") {
		return suspended("Schedule is paused"), nil
	}
	switch stringField(obj, "status", "phase") {
	case "Enabled":
		return Result{Status: Healthy}, nil
	case "FailedValidation":
		return degraded("Schedule failed validation%s", suffix(": ", veleroValidationErrors(obj))), nil
	}
	return progressing("Waiting for Velero to validate the schedule"), nil
}

// veleroLocationHealth: Velero checks each storage location periodically
// and records Available or Unavailable.
func veleroLocationHealth(obj *unstructured.Unstructured) (Result, error) {
	switch stringField(obj, "status", "phase") {
	case "Available":
		return Result{Status: Healthy}, nil
	case "Unavailable":
		return degraded("Backup storage location is unavailable%s", suffix(": ", stringField(obj, "status", "message"))), nil
	}
	return progressing("Waiting for Velero to check the backup storage location"), nil
}

func veleroCount(obj *unstructured.Unstructured, field string) int64 {
	n, _ := toInt64(nested(obj.Object, "status", field))
	return n
}

func veleroValidationErrors(obj *unstructured.Unstructured) string {
	list, _ := nested(obj.Object, "status", "validationErrors").([]any)
	var out string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out += suffix("; ", s)
		}
	}
	if len(out) > 2 {
		out = out[2:]
	}
	return out
}

// suffix returns sep+s, or "" when s is empty.
func suffix(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}
