package sync

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"soll.dev/internal/resource"
)

// Annotations that order and classify objects. soll's own names come
// first; Argo CD's are honoured so existing repositories work unchanged.
var (
	waveAnnotations             = []string{"soll.dev/sync-wave", "argocd.argoproj.io/sync-wave"}
	hookAnnotations             = []string{"soll.dev/hook", "argocd.argoproj.io/hook"}
	hookDeletePolicyAnnotations = []string{"soll.dev/hook-delete-policy", "argocd.argoproj.io/hook-delete-policy"}
	syncOptionsAnnotations      = []string{"soll.dev/sync-options", "argocd.argoproj.io/sync-options"}
)

// Phase is a sync phase.
type Phase string

// The phases of a sync, in order. SyncFail runs only when an earlier phase
// fails.
const (
	PhasePreSync  Phase = "PreSync"
	PhaseSync     Phase = "Sync"
	PhasePostSync Phase = "PostSync"
	PhaseSyncFail Phase = "SyncFail"
)

// The phases of deleting an Application with its objects: PreDelete hooks
// run before any object is deleted, PostDelete hooks once they are gone.
// Their hooks never run in a sync (see Engine.RunHooks).
const (
	PhasePreDelete  Phase = "PreDelete"
	PhasePostDelete Phase = "PostDelete"
)

// Deletion reports whether p is a phase of deleting the Application
// rather than of a sync.
func (p Phase) Deletion() bool { return p == PhasePreDelete || p == PhasePostDelete }

// Hook delete policies.
const (
	HookSucceeded      = "HookSucceeded"
	HookFailed         = "HookFailed"
	BeforeHookCreation = "BeforeHookCreation"
)

func annotation(obj *unstructured.Unstructured, names []string) (string, bool) {
	_, v, ok := annotationOf(obj, names)
	return v, ok
}

// annotationOf is annotation, also naming the annotation found.
func annotationOf(obj *unstructured.Unstructured, names []string) (name, value string, ok bool) {
	ann := obj.GetAnnotations()
	for _, n := range names {
		if v, ok := ann[n]; ok {
			return n, strings.TrimSpace(v), true
		}
	}
	return "", "", false
}

// Wave returns the object's sync wave (0 when unset).
func Wave(obj *unstructured.Unstructured) (int, error) {
	v, ok := annotation(obj, waveAnnotations)
	if !ok || v == "" {
		return 0, nil
	}
	w, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: annotation %s: %q is not an integer", resource.KeyOf(obj), waveAnnotations[0], v)
	}
	return w, nil
}

// HookPhases returns the phases the object is a hook of, sync phases and
// deletion phases (PreDelete, PostDelete) alike; nil for ordinary objects.
// "Skip" means the object is never applied.
func HookPhases(obj *unstructured.Unstructured) (phases []Phase, skip bool, err error) {
	name, v, ok := annotationOf(obj, hookAnnotations)
	if !ok {
		return nil, false, nil
	}
	for _, p := range strings.Split(v, ",") {
		switch p = strings.TrimSpace(p); Phase(p) {
		case PhasePreSync, PhaseSync, PhasePostSync, PhaseSyncFail, PhasePreDelete, PhasePostDelete:
			if !slices.Contains(phases, Phase(p)) {
				phases = append(phases, Phase(p))
			}
		case "Skip":
			skip = true
		default:
			return nil, false, fmt.Errorf("%s: annotation %s: unknown hook %q: use PreSync, Sync, PostSync, SyncFail, PreDelete, PostDelete or Skip", resource.KeyOf(obj), name, p)
		}
	}
	return phases, skip, nil
}

// IsDeletionHook reports whether obj is a hook of phase, PreDelete or
// PostDelete. An object whose hook annotation does not parse is none:
// comparing the app reports that error.
func IsDeletionHook(obj *unstructured.Unstructured, phase Phase) bool {
	phases, _, err := HookPhases(obj)
	return err == nil && phase.Deletion() && slices.Contains(phases, phase)
}

// HookDeletePolicies returns the hook's delete policies; the default, as in
// Argo CD, is BeforeHookCreation.
func HookDeletePolicies(obj *unstructured.Unstructured) ([]string, error) {
	v, ok := annotation(obj, hookDeletePolicyAnnotations)
	if !ok || v == "" {
		return []string{BeforeHookCreation}, nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		switch p = strings.TrimSpace(p); p {
		case HookSucceeded, HookFailed, BeforeHookCreation:
			out = append(out, p)
		default:
			return nil, fmt.Errorf("%s: annotation %s: unknown policy %q: use HookSucceeded, HookFailed or BeforeHookCreation", resource.KeyOf(obj), hookDeletePolicyAnnotations[0], p)
		}
	}
	return out, nil
}

// kindOrder ranks kinds inside one wave: what others depend on goes first
// (namespaces, CRDs, accounts, config), workloads after, as kubectl and
// Helm do it.
var kindOrder = []string{
	"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
	"ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
	"PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
	"ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
	"Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
}

func kindRank(kind string) int {
	if i := slices.Index(kindOrder, kind); i >= 0 {
		return i
	}
	return len(kindOrder) // unknown kinds (custom resources) last
}

// isInfrastructure reports kinds that must exist, and be ready, before
// anything else of the same wave is applied.
func isInfrastructure(k resource.Key) bool {
	return (k.Group == "" && k.Kind == "Namespace") ||
		(k.Group == "apiextensions.k8s.io" && k.Kind == "CustomResourceDefinition")
}
