package sync

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"soll.dev/internal/resource"
)

// Helm's hook annotations, as charts write them.
const (
	HelmHookAnnotation             = "helm.sh/hook"
	HelmHookWeightAnnotation       = "helm.sh/hook-weight"
	HelmHookDeletePolicyAnnotation = "helm.sh/hook-delete-policy"
)

// HelmHook says what a Helm chart hook means for one sync.
type HelmHook struct {
	// Keep is false for a hook that does not run in this sync nor at the
	// Application's deletion (a pre-upgrade hook on the first sync, a
	// test hook, ...): it is neither applied nor compared.
	Keep bool
}

// TranslateHelmHook rewrites obj's Helm hook annotations into soll's, for a
// sync that installs the release (install: the application has never been
// synced) or upgrades it. This gives chart hooks their Helm meaning:
//
//   - pre-install and post-install run only on the first sync, as PreSync
//     and PostSync hooks;
//   - pre-upgrade and post-upgrade run only on later syncs;
//   - pre-delete and post-delete hooks run when the Application is
//     deleted with its objects, as PreDelete and PostDelete hooks, never
//     in a sync;
//   - test and rollback hooks never run;
//   - helm.sh/hook-weight orders hooks of a phase as a sync wave does, and
//     helm.sh/hook-delete-policy maps to soll's policies
//     (before-hook-creation, hook-succeeded, hook-failed).
//
// An object that also carries soll's or Argo CD's hook annotation keeps
// that meaning instead: explicit beats inherited. Objects without
// helm.sh/hook are returned with Keep set and unchanged.
func TranslateHelmHook(obj *unstructured.Unstructured, install bool) (HelmHook, error) {
	ann := obj.GetAnnotations()
	v, ok := ann[HelmHookAnnotation]
	if !ok {
		return HelmHook{Keep: true}, nil
	}
	if _, explicit := annotation(obj, hookAnnotations); explicit {
		return HelmHook{Keep: true}, nil
	}
	var phases []string
	add := func(p Phase) {
		if !slices.Contains(phases, string(p)) {
			phases = append(phases, string(p))
		}
	}
	for _, kind := range strings.Split(v, ",") {
		switch kind = strings.TrimSpace(kind); kind {
		case "pre-install":
			if install {
				add(PhasePreSync)
			}
		case "post-install":
			if install {
				add(PhasePostSync)
			}
		case "pre-upgrade":
			if !install {
				add(PhasePreSync)
			}
		case "post-upgrade":
			if !install {
				add(PhasePostSync)
			}
		case "pre-delete":
			add(PhasePreDelete)
		case "post-delete":
			add(PhasePostDelete)
		case "pre-rollback", "post-rollback", "test", "test-success", "test-failure", "crd-install", "":
			// Never part of a sync.
		default:
			return HelmHook{}, fmt.Errorf("%s: annotation %s: unknown Helm hook %q: use pre-install, post-install, pre-upgrade, post-upgrade, pre-delete, post-delete, pre-rollback, post-rollback or test", resource.KeyOf(obj), HelmHookAnnotation, kind)
		}
	}
	out := map[string]string{}
	for k, v := range ann {
		out[k] = v
	}
	if w, ok := ann[HelmHookWeightAnnotation]; ok {
		if _, set := annotation(obj, waveAnnotations); !set {
			if _, err := strconv.Atoi(strings.TrimSpace(w)); err != nil {
				return HelmHook{}, fmt.Errorf("%s: annotation %s: %q is not an integer", resource.KeyOf(obj), HelmHookWeightAnnotation, w)
			}
			out[waveAnnotations[0]] = strings.TrimSpace(w)
		}
	}
	if p, ok := ann[HelmHookDeletePolicyAnnotation]; ok {
		if _, set := annotation(obj, hookDeletePolicyAnnotations); !set {
			var policies []string
			for _, name := range strings.Split(p, ",") {
				switch name = strings.TrimSpace(name); name {
				case "before-hook-creation":
					policies = append(policies, BeforeHookCreation)
				case "hook-succeeded":
					policies = append(policies, HookSucceeded)
				case "hook-failed":
					policies = append(policies, HookFailed)
				default:
					return HelmHook{}, fmt.Errorf("%s: annotation %s: unknown policy %q: use before-hook-creation, hook-succeeded or hook-failed", resource.KeyOf(obj), HelmHookDeletePolicyAnnotation, name)
				}
			}
			out[hookDeletePolicyAnnotations[0]] = strings.Join(policies, ",")
		}
	}
	if len(phases) == 0 {
		return HelmHook{}, nil
	}
	out[hookAnnotations[0]] = strings.Join(phases, ",")
	obj.SetAnnotations(out)
	return HelmHook{Keep: true}, nil
}
