package health

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func jobHealth(obj *unstructured.Unstructured) (Result, error) {
	var j batchv1.Job
	if err := decode(obj, &j); err != nil {
		return Result{}, err
	}
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		// FailureTarget and SuccessCriteriaMet come first, while the last
		// pods terminate; the outcome is already decided.
		case batchv1.JobFailed, batchv1.JobFailureTarget:
			return degraded("%s", conditionMessage(c.Reason, c.Message)), nil
		case batchv1.JobComplete, batchv1.JobSuccessCriteriaMet:
			return healthy("%s", c.Message), nil
		}
	}
	if j.Spec.Suspend != nil && *j.Spec.Suspend {
		// The Job controller says why in its Suspended condition.
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobSuspended && c.Status == corev1.ConditionTrue && c.Message != "" {
				return Result{Status: Suspended, Message: c.Message}, nil
			}
		}
		return Result{Status: Suspended, Message: "Job is suspended"}, nil
	}
	st := j.Status
	return progressing("Waiting for job to complete: %d active, %d succeeded, %d failed", st.Active, st.Succeeded, st.Failed), nil
}

// cronJobHealth judges a CronJob by its last run: the CronJob controller
// records when it last started a job and when a job last succeeded.
func cronJobHealth(obj *unstructured.Unstructured) (Result, error) {
	var cj batchv1.CronJob
	if err := decode(obj, &cj); err != nil {
		return Result{}, err
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return Result{Status: Suspended, Message: "CronJob is suspended"}, nil
	}
	st := cj.Status
	if st.LastScheduleTime == nil {
		return healthy("CronJob has not been scheduled yet"), nil
	}
	if n := len(st.Active); n > 0 {
		// Running on schedule is the normal state of a CronJob, not a rollout.
		return healthy("CronJob has %d active jobs", n), nil
	}
	scheduled := st.LastScheduleTime.UTC().Format(time.RFC3339)
	// A job that succeeds finishes after it was scheduled, so the last job
	// failed (or was deleted before it succeeded) when no success followed
	// the last schedule.
	if st.LastSuccessfulTime == nil || st.LastSuccessfulTime.Before(st.LastScheduleTime) {
		return degraded("The last job, scheduled at %s, did not complete successfully", scheduled), nil
	}
	return healthy("The last job, scheduled at %s, completed successfully", scheduled), nil
}
