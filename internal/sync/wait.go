package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"soll.dev/internal/health"
	"soll.dev/internal/resource"
)

// pollInterval is how often a wave's objects are re-read while waiting.
const pollInterval = 250 * time.Millisecond

// waitHealthy waits until every applied object of the step is healthy
// (hooks: completed), then applies hook delete policies. With onlyHooks,
// ordinary objects are not awaited.
func (r *run) waitHealthy(ctx context.Context, group []task, applied []*unstructured.Unstructured, onlyHooks bool) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.WaveTimeout)
	defer cancel()
	var errs []error
	waited := false
	for i, t := range group {
		obj := applied[i]
		if !awaited(t, obj, onlyHooks) {
			continue
		}
		waited = true
		err := r.waitOne(ctx, t, obj)
		if t.hook {
			r.finishHook(ctx, t, obj, err)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if waited {
		r.progress(false)
	}
	return errors.Join(errs...)
}

// awaited reports whether waitHealthy waits for the object t applied.
func awaited(t task, obj *unstructured.Unstructured, onlyHooks bool) bool {
	return obj != nil && !t.prune && (!onlyHooks || t.hook)
}

// awaits reports whether waitHealthy waits for any object of the group.
func awaits(group []task, applied []*unstructured.Unstructured, onlyHooks bool) bool {
	for i, t := range group {
		if awaited(t, applied[i], onlyHooks) {
			return true
		}
	}
	return false
}

func (r *run) waitOne(ctx context.Context, t task, obj *unstructured.Unstructured) error {
	key := resource.KeyOf(obj)
	var last health.Result
	err := poll(ctx, 0, func() (bool, error) {
		live, err := r.kube.Get(ctx, obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName())
		if err != nil {
			return false, nil // transient; the deadline bounds us
		}
		if live == nil {
			last = health.Result{Status: health.Missing, Message: "not found"}
			return false, nil
		}
		last, err = r.e.Health.Check(live)
		if err != nil {
			return false, err
		}
		switch last.Status {
		case health.Healthy, health.Suspended:
			return true, nil
		case health.Degraded:
			return false, fmt.Errorf("%s is Degraded: %s", key, last.Message)
		}
		return false, nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s did not become healthy in time (%s: %s)", key, last.Status, last.Message)
		}
		return err
	}
	return nil
}

// finishHook records the hook's outcome and applies its delete policy.
func (r *run) finishHook(ctx context.Context, t task, obj *unstructured.Unstructured, waitErr error) {
	key := resource.KeyOf(obj)
	or := ObjectResult{Key: key, Version: obj.GroupVersionKind().Version, Phase: t.phase, Wave: t.wave, Hook: true}
	policies, _ := HookDeletePolicies(obj)
	var del bool
	if waitErr == nil {
		or.Status, or.HookPhase, or.Message = ResultSynced, "Succeeded", "hook completed"
		del = slices.Contains(policies, HookSucceeded)
	} else {
		or.Status, or.HookPhase, or.Message = ResultSyncFailed, "Failed", waitErr.Error()
		del = slices.Contains(policies, HookFailed)
	}
	r.record(or)
	if del {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = r.kube.Delete(dctx, obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName(), metav1.DeletePropagationBackground, string(obj.GetUID()))
	}
}

// poll calls cond every pollInterval until it returns true or an error,
// or ctx (bounded by timeout when non-zero) ends.
func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}
