package health

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The workload checks follow `kubectl rollout status`: a rollout is done when
// the controller has seen the latest spec and every desired replica is
// updated and available.

func deploymentHealth(obj *unstructured.Unstructured) (Result, error) {
	var d appsv1.Deployment
	if err := decode(obj, &d); err != nil {
		return Result{}, err
	}
	if d.Spec.Paused {
		return Result{Status: Suspended, Message: "Deployment is paused"}, nil
	}
	if d.Generation > d.Status.ObservedGeneration {
		return progressing("Waiting for rollout to finish: observed deployment generation less than desired generation"), nil
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return degraded("Deployment %q exceeded its progress deadline", d.Name), nil
		}
	}
	want := replicas(d.Spec.Replicas)
	st := d.Status
	switch {
	case st.UpdatedReplicas < want:
		return progressing("Waiting for rollout to finish: %d out of %d new replicas have been updated...", st.UpdatedReplicas, want), nil
	case st.Replicas > st.UpdatedReplicas:
		return progressing("Waiting for rollout to finish: %d old replicas are pending termination...", st.Replicas-st.UpdatedReplicas), nil
	case st.AvailableReplicas < st.UpdatedReplicas:
		return progressing("Waiting for rollout to finish: %d of %d updated replicas are available...", st.AvailableReplicas, st.UpdatedReplicas), nil
	}
	return Result{Status: Healthy}, nil
}

func statefulSetHealth(obj *unstructured.Unstructured) (Result, error) {
	var s appsv1.StatefulSet
	if err := decode(obj, &s); err != nil {
		return Result{}, err
	}
	st := s.Status
	if st.ObservedGeneration == 0 || s.Generation > st.ObservedGeneration {
		return progressing("Waiting for statefulset spec update to be observed..."), nil
	}
	want := replicas(s.Spec.Replicas)
	if st.ReadyReplicas < want {
		return progressing("Waiting for %d pods to be ready...", want-st.ReadyReplicas), nil
	}
	// With OnDelete, pods move to a new revision only when someone deletes
	// them: old revisions are expected, not a rollout in progress.
	if s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return healthy("StatefulSet has %d ready pods", st.ReadyReplicas), nil
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		// Only the pods at or above the partition ordinal are updated.
		target := max(want-*ru.Partition, 0)
		if st.UpdatedReplicas < target {
			return progressing("Waiting for partitioned roll out to finish: %d out of %d new pods have been updated...", st.UpdatedReplicas, target), nil
		}
		return healthy("Partitioned roll out complete: %d new pods have been updated...", st.UpdatedReplicas), nil
	}
	if st.UpdateRevision != "" && st.UpdateRevision != st.CurrentRevision {
		return progressing("Waiting for statefulset rolling update to complete %d pods at revision %s...", st.UpdatedReplicas, st.UpdateRevision), nil
	}
	return healthy("StatefulSet rolling update complete %d pods at revision %s...", st.CurrentReplicas, st.CurrentRevision), nil
}

func daemonSetHealth(obj *unstructured.Unstructured) (Result, error) {
	var d appsv1.DaemonSet
	if err := decode(obj, &d); err != nil {
		return Result{}, err
	}
	st := d.Status
	if d.Generation > st.ObservedGeneration {
		return progressing("Waiting for daemon set spec update to be observed..."), nil
	}
	// With OnDelete, old pods stay until someone deletes them.
	if d.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType && st.UpdatedNumberScheduled < st.DesiredNumberScheduled {
		return progressing("Waiting for daemon set %q rollout to finish: %d out of %d new pods have been updated...", d.Name, st.UpdatedNumberScheduled, st.DesiredNumberScheduled), nil
	}
	if st.NumberAvailable < st.DesiredNumberScheduled {
		return progressing("Waiting for daemon set %q rollout to finish: %d of %d updated pods are available...", d.Name, st.NumberAvailable, st.DesiredNumberScheduled), nil
	}
	return Result{Status: Healthy}, nil
}

func replicaSetHealth(obj *unstructured.Unstructured) (Result, error) {
	var r appsv1.ReplicaSet
	if err := decode(obj, &r); err != nil {
		return Result{}, err
	}
	if r.Generation > r.Status.ObservedGeneration {
		return progressing("Waiting for rollout to finish: observed replica set generation less than desired generation"), nil
	}
	for _, c := range r.Status.Conditions {
		// ReplicaFailure: pods cannot be created (quota, admission, ...).
		if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
			return degraded("%s", conditionMessage(c.Reason, c.Message)), nil
		}
	}
	want := replicas(r.Spec.Replicas)
	if r.Status.AvailableReplicas < want {
		return progressing("Waiting for rollout to finish: %d out of %d new replicas are available...", r.Status.AvailableReplicas, want), nil
	}
	return Result{Status: Healthy}, nil
}
