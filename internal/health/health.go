package health

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Status is the health of one object or of a whole application.
type Status string

const (
	// Healthy: the object does what it was created for.
	Healthy Status = "Healthy"
	// Progressing: the object is not healthy yet but is on its way, for
	// example a rollout in progress or a load balancer being provisioned.
	Progressing Status = "Progressing"
	// Degraded: the object failed or cannot become healthy without help,
	// for example a crash-looping pod or a rollout past its deadline.
	Degraded Status = "Degraded"
	// Suspended: the object is paused on purpose, for example a suspended
	// CronJob or a paused Deployment.
	Suspended Status = "Suspended"
	// Missing: the object should exist but is not in the cluster.
	Missing Status = "Missing"
	// Unknown: health could not be assessed, for example because a custom
	// check failed.
	Unknown Status = "Unknown"
)

// severity orders the statuses from best to worst for Worst.
//
// Unknown ranks above Progressing (an object whose health cannot be assessed
// must never let its application look fine or merely busy) but below Missing
// and Degraded: those are known failures a person can act on, and one broken
// custom check should not hide them. Argo CD ranks Unknown last instead.
var severity = map[Status]int{
	Healthy:     0,
	Suspended:   1,
	Progressing: 2,
	Unknown:     3,
	Missing:     4,
	Degraded:    5,
}

// known reports whether s is one of the defined statuses.
func known(s Status) bool {
	_, ok := severity[s]
	return ok
}

// Worst returns the least healthy of statuses, in the order Healthy <
// Suspended < Progressing < Unknown < Missing < Degraded. A value that is not
// one of the defined statuses counts as Unknown. Without statuses (an
// application with no objects) the result is Healthy.
func Worst(statuses ...Status) Status {
	worst := Healthy
	for _, s := range statuses {
		if !known(s) {
			s = Unknown
		}
		if severity[s] > severity[worst] {
			worst = s
		}
	}
	return worst
}

// Result is the health of one object.
type Result struct {
	Status Status `json:"status"`
	// Message says why, for people; it may be empty when Status is Healthy.
	Message string `json:"message,omitempty"`
}

// Defaults for Options. Real-world health scripts run a few thousand
// instructions; ten million take about a quarter of a second.
const (
	DefaultTimeout      = time.Second
	DefaultMaxSteps     = 10_000_000
	DefaultMaxCallDepth = 200
	DefaultMaxStackSize = 64 * 1024
)

// Options configure a Checker. The zero value is valid: built-in and generic
// checks only, default limits.
type Options struct {
	// Scripts are custom health checks in Lua, keyed by the group and kind of
	// the objects they assess (the core group is ""). A custom check replaces
	// the built-in one for its kind. The group or the kind may be a wildcard
	// pattern such as {Group: "*.example.com", Kind: "*"} (path.Match syntax);
	// an exact key wins over patterns, and among matching patterns the most
	// specific one (most characters other than wildcards) wins. An empty
	// script means no custom check, as in Argo CD.
	Scripts map[schema.GroupKind]string
	// Timeout bounds the wall-clock time of one script run; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxSteps bounds the Lua instructions one script run may execute: unlike
	// Timeout it does not depend on how busy the machine is. Zero means
	// DefaultMaxSteps, a negative value means no limit.
	MaxSteps int64
	// MaxCallDepth bounds the Lua call stack (nested function calls); zero
	// means DefaultMaxCallDepth.
	MaxCallDepth int
	// MaxStackSize bounds the Lua value stack, in values (at least 128);
	// zero means DefaultMaxStackSize.
	MaxStackSize int
}

// Checker assesses the health of objects. It is safe for concurrent use.
type Checker struct {
	scripts scriptSet
	limits  limits
}

// New returns a Checker. It compiles every script once and fails when one
// does not compile or a wildcard pattern is malformed.
func New(opts Options) (*Checker, error) {
	lim := limits{
		timeout:      opts.Timeout,
		maxSteps:     opts.MaxSteps,
		maxCallDepth: opts.MaxCallDepth,
		maxStackSize: opts.MaxStackSize,
	}
	if lim.timeout <= 0 {
		lim.timeout = DefaultTimeout
	}
	if lim.maxSteps == 0 {
		lim.maxSteps = DefaultMaxSteps
	}
	if lim.maxCallDepth <= 0 {
		lim.maxCallDepth = DefaultMaxCallDepth
	}
	if lim.maxStackSize <= 0 {
		lim.maxStackSize = DefaultMaxStackSize
	}
	// gopher-lua ignores smaller stacks and silently uses its default.
	lim.maxStackSize = max(lim.maxStackSize, 128)
	scripts, err := compileScripts(opts.Scripts)
	if err != nil {
		return nil, err
	}
	return &Checker{scripts: scripts, limits: lim}, nil
}

// Check assesses the health of obj, the live object; nil means the object is
// not in the cluster (Missing).
//
// The Result is always meaningful. When health cannot be assessed (a custom
// check fails, or the object cannot be decoded) Check returns a Result with
// status Unknown and a message for people, together with an error that names
// the object, for logs.
func (c *Checker) Check(obj *unstructured.Unstructured) (Result, error) {
	if obj == nil {
		return Result{Status: Missing, Message: "Object does not exist in the cluster"}, nil
	}
	if obj.GetDeletionTimestamp() != nil && !hasHookFinalizer(obj) {
		return Result{Status: Progressing, Message: "Pending deletion"}, nil
	}
	gk := obj.GroupVersionKind().GroupKind()
	if gk.Kind == "" {
		return unknown(obj, errors.New("object has no kind"))
	}
	if proto := c.scripts.lookup(gk); proto != nil {
		res, err := c.runScript(proto, gk, obj)
		if err != nil {
			return unknown(obj, err)
		}
		return res, nil
	}
	if check, ok := builtins[gk]; ok {
		res, err := check(obj)
		if err != nil {
			return unknown(obj, err)
		}
		return res, nil
	}
	if check, ok := byConditions(obj); ok {
		res, err := check(obj)
		if err != nil {
			return unknown(obj, err)
		}
		return res, nil
	}
	return generic(obj), nil
}

// HookFinalizers keep a sync hook in the cluster, even once it is being
// deleted, until its result was read: Argo CD's finalizer, which hooks
// created by Argo CD carry, and soll's. An object being deleted is only
// "Pending deletion", except a hook that still holds one of them: its
// result is what the sync waits for, so its check still runs.
var HookFinalizers = []string{"argocd.argoproj.io/hook-finalizer", "soll.dev/hook-finalizer"}

func hasHookFinalizer(obj *unstructured.Unstructured) bool {
	for _, f := range obj.GetFinalizers() {
		if slices.Contains(HookFinalizers, f) {
			return true
		}
	}
	return false
}

// unknown turns a failed assessment into the Unknown result and the error
// that Check returns.
func unknown(obj *unstructured.Unstructured, err error) (Result, error) {
	return Result{Status: Unknown, Message: capitalize(err.Error())},
		fmt.Errorf("check health of %s: %w", describe(obj), err)
}

// describe names obj for errors: kind.group "namespace/name".
func describe(obj *unstructured.Unstructured) string {
	gk := obj.GroupVersionKind().GroupKind().String()
	if ns := obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %q", gk, ns+"/"+obj.GetName())
	}
	return fmt.Sprintf("%s %q", gk, obj.GetName())
}

func capitalize(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
