package health

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The checks of custom resources live in one file per project
// (builtin_flux.go, builtin_certmanager.go, ...), each with a map of its
// kinds; crdChecks lists those maps and init merges them into builtins.
var crdChecks = []map[schema.GroupKind]builtinCheck{
	argoChecks, certManagerChecks, fluxChecks, externalSecretsChecks, crossplaneChecks,
	kedaChecks, istioChecks, knativeChecks, strimziChecks, kubevirtChecks, prometheusChecks,
	sealedSecretsChecks, veleroChecks, tektonChecks, gatewayChecks, gitopsChecks,
}

func init() {
	for _, m := range crdChecks {
		for gk := range m {
			if _, dup := builtins[gk]; dup {
				panic(fmt.Sprintf("health: two built-in checks for %s", gk))
			}
		}
		maps.Copy(builtins, m)
	}
}

func suspended(format string, args ...any) Result {
	return Result{Status: Suspended, Message: fmt.Sprintf(format, args...)}
}

// staleGeneration reports an object whose controller has not acted on its
// latest spec yet: status.observedGeneration (a number, or a number in a
// string as some projects write it) behind metadata.generation. The rest of
// its status describes an older spec, so the object is Progressing.
func staleGeneration(obj *unstructured.Unstructured) (Result, bool) {
	gen := obj.GetGeneration()
	v := nested(obj.Object, "status", "observedGeneration")
	observed, ok := toInt64(v)
	if s, isString := v.(string); isString {
		n, err := strconv.ParseInt(s, 10, 64)
		observed, ok = n, err == nil
	}
	if !ok || gen == 0 || observed >= gen {
		return Result{}, false
	}
	return progressing("Waiting for the controller to observe generation %d (last observed %d)", gen, observed), true
}

// staleCondition reports a condition computed from an older generation.
func staleCondition(obj *unstructured.Unstructured, c *condition) (Result, bool) {
	gen := obj.GetGeneration()
	if c == nil || c.ObservedGeneration == 0 || c.ObservedGeneration >= gen {
		return Result{}, false
	}
	return progressing("Waiting for the controller to observe generation %d (%s condition is for generation %d)", gen, c.Type, c.ObservedGeneration), true
}

// boolField reads a boolean at path; absent or not a bool is false.
func boolField(obj *unstructured.Unstructured, path ...string) bool {
	b, _ := nested(obj.Object, path...).(bool)
	return b
}

// stringField reads a string at path; absent or not a string is "".
func stringField(obj *unstructured.Unstructured, path ...string) string {
	s, _ := nested(obj.Object, path...).(string)
	return s
}

// isTrue reports a condition that is present and True.
func isTrue(c *condition) bool { return c != nil && c.Status == "True" }

// readyCheck assesses the many kinds whose controller sums up their state
// in one condition (Ready for most, Available or Synced for some), with
// True meaning "works", Unknown "working on it" and False "failed", the
// convention of the Kubernetes API guidelines and kstatus.
type readyCheck struct {
	// condition whose True status means Healthy.
	condition string
	// suspend is the path of a boolean field that pauses the object on
	// purpose (spec.suspend for Flux); nil when the kind has none.
	suspend []string
	// notYet are reasons of a False condition that mean "not done yet"
	// rather than "failed": Progressing instead of Degraded.
	notYet []string
	// kstatus: the controller also writes Stalled and Reconciling
	// conditions (Flux and other kstatus-compliant controllers): Stalled
	// True is Degraded, Reconciling True is Progressing, except after a
	// failure (reason ProgressingWithRetry, the summary condition False).
	kstatus bool
}

func (r readyCheck) check(obj *unstructured.Unstructured) (Result, error) {
	if r.suspend != nil && boolField(obj, r.suspend...) {
		return suspended("%s is suspended", obj.GetKind()), nil
	}
	if res, stale := staleGeneration(obj); stale {
		return res, nil
	}
	conds := readConditions(obj)
	c := findCondition(conds, r.condition)
	if res, stale := staleCondition(obj, c); stale {
		return res, nil
	}
	if r.kstatus {
		if s := findCondition(conds, "Stalled"); isTrue(s) {
			return degraded("%s", conditionMessage(s.Reason, s.Message)), nil
		}
		if s := findCondition(conds, "Reconciling"); isTrue(s) {
			// A failed reconciliation that the controller retries keeps
			// Reconciling True with reason ProgressingWithRetry next to
			// Ready False: it failed, whatever the next attempt brings.
			if s.Reason == "ProgressingWithRetry" && c != nil && c.Status == "False" {
				return degraded("%s", conditionMessage(c.Reason, c.Message)), nil
			}
			return progressing("%s", conditionMessage(s.Reason, s.Message)), nil
		}
	}
	return r.judge(c), nil
}

// judge turns the summary condition into a Result.
func (r readyCheck) judge(c *condition) Result {
	switch {
	case c == nil:
		return progressing("Waiting for the controller to report the %s condition", r.condition)
	case c.Status == "True":
		return healthy("%s", c.Message)
	case c.Status == "False" && !slices.Contains(r.notYet, c.Reason):
		return degraded("%s", conditionMessage(c.Reason, c.Message))
	}
	return progressing("%s", conditionMessage(c.Reason, c.Message))
}
