package health

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// IgnoreRestartPolicyAnnotation, on a running Pod whose restartPolicy is
// Never or OnFailure, makes its health follow its status as for a
// long-running pod (Healthy once ready, Degraded when a container crash
// loops) instead of Progressing until it completes. Any value but "false"
// turns it on.
const IgnoreRestartPolicyAnnotation = "argocd.argoproj.io/ignore-restart-policy"

func podHealth(obj *unstructured.Unstructured) (Result, error) {
	var p corev1.Pod
	if err := decode(obj, &p); err != nil {
		return Result{}, err
	}
	// A pod that restarts forever is a service: a container stuck waiting on
	// an error (CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
	// CreateContainerConfigError, ...) will not fix itself. Pods that run to
	// completion are often sync hooks: calling them Degraded while an image
	// is still being pulled would fail the hook too early, so for them the
	// same states only mean Progressing.
	restartsForever := p.Spec.RestartPolicy == corev1.RestartPolicyAlways || p.Spec.RestartPolicy == ""
	// Operators that own the life of their pods (KubeVirt's virt-launcher,
	// database operators) often set restartPolicy Never on long-running
	// pods; the annotation asks for them to be judged as services once
	// they run.
	if v, ok := p.Annotations[IgnoreRestartPolicyAnnotation]; ok && v != "false" && p.Status.Phase == corev1.PodRunning {
		restartsForever = true
	}
	if msgs := waitingOnError(&p); len(msgs) > 0 && restartsForever {
		return degraded("%s", strings.Join(msgs, "; ")), nil
	}
	st := p.Status
	switch st.Phase {
	case corev1.PodPending:
		return progressing("%s", pendingMessage(&p)), nil
	case corev1.PodSucceeded:
		return healthy("%s", st.Message), nil
	case corev1.PodFailed:
		return degraded("%s", failedMessage(&p)), nil
	case corev1.PodRunning:
		if !restartsForever {
			// Runs to completion: healthy once it succeeded, not before.
			return progressing("%s", st.Message), nil
		}
		ready := podCondition(&p, corev1.PodReady)
		if ready != nil && ready.Status == corev1.ConditionTrue {
			return healthy("%s", st.Message), nil
		}
		// Not ready after a container already terminated: it is restarting.
		for _, cs := range st.ContainerStatuses {
			if t := cs.LastTerminationState.Terminated; t != nil && !cs.Ready {
				return degraded("Container %q restarted (%s, exit code %d) and is not ready", cs.Name, t.Reason, t.ExitCode), nil
			}
		}
		if ready != nil && ready.Message != "" {
			return progressing("%s", ready.Message), nil
		}
		return progressing("Waiting for pod to become ready"), nil
	}
	return Result{Status: Unknown, Message: st.Message}, nil
}

// waitingOnError lists the containers waiting because of an error.
func waitingOnError(p *corev1.Pod) []string {
	var msgs []string
	for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		w := cs.State.Waiting
		if w == nil {
			continue
		}
		if strings.HasPrefix(w.Reason, "Err") || strings.HasSuffix(w.Reason, "Error") || strings.HasSuffix(w.Reason, "BackOff") {
			msg := fmt.Sprintf("Container %q is waiting: %s", cs.Name, w.Reason)
			if w.Message != "" {
				msg += ": " + w.Message
			}
			msgs = append(msgs, msg)
		}
	}
	return msgs
}

func pendingMessage(p *corev1.Pod) string {
	if p.Status.Message != "" {
		return p.Status.Message
	}
	if c := podCondition(p, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse {
		return conditionMessage(c.Reason, c.Message)
	}
	for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return fmt.Sprintf("Container %q is waiting: %s", cs.Name, w.Reason)
		}
	}
	return "Waiting for pod to start"
}

func failedMessage(p *corev1.Pod) string {
	if p.Status.Message != "" {
		return p.Status.Message
	}
	for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		t := cs.State.Terminated
		switch {
		case t == nil:
		case t.Message != "":
			return t.Message
		case t.Reason == "OOMKilled":
			return fmt.Sprintf("Container %q was killed: out of memory (OOMKilled)", cs.Name)
		case t.ExitCode != 0:
			return fmt.Sprintf("Container %q failed with exit code %d", cs.Name, t.ExitCode)
		}
	}
	return "Pod failed"
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func serviceHealth(obj *unstructured.Unstructured) (Result, error) {
	var s corev1.Service
	if err := decode(obj, &s); err != nil {
		return Result{}, err
	}
	if s.Spec.Type == corev1.ServiceTypeLoadBalancer && len(s.Status.LoadBalancer.Ingress) == 0 {
		return progressing("Waiting for the load balancer to get an address"), nil
	}
	return Result{Status: Healthy}, nil
}

func pvcHealth(obj *unstructured.Unstructured) (Result, error) {
	var c corev1.PersistentVolumeClaim
	if err := decode(obj, &c); err != nil {
		return Result{}, err
	}
	switch c.Status.Phase {
	case corev1.ClaimBound:
		return Result{Status: Healthy}, nil
	case corev1.ClaimPending:
		return progressing("Waiting for a volume to be bound"), nil
	case corev1.ClaimLost:
		return degraded("The bound volume %q no longer exists; its data is lost", c.Spec.VolumeName), nil
	}
	return Result{Status: Unknown, Message: fmt.Sprintf("Unexpected phase %q", c.Status.Phase)}, nil
}

func namespaceHealth(obj *unstructured.Unstructured) (Result, error) {
	var n corev1.Namespace
	if err := decode(obj, &n); err != nil {
		return Result{}, err
	}
	if n.Status.Phase == corev1.NamespaceTerminating {
		return progressing("Namespace is being deleted"), nil
	}
	return Result{Status: Healthy}, nil
}
