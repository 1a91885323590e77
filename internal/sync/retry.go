package sync

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// transientRetryTimeout bounds how long one call is retried while the API
// server is unreachable or overloaded: long enough for an API server to
// restart (an upgrade, a failover), short enough that an operation against
// a cluster that is really gone fails in reasonable time.
const transientRetryTimeout = 2 * time.Minute

// firstRetryDelay is the pause before the first retry; it doubles with
// each retry, up to 2 seconds.
var firstRetryDelay = 100 * time.Millisecond

// retryingKube retries the calls of an operation that fail for a reason
// that passes by itself (refused connections, 429, 503, timeouts), so a
// restarting API server pauses an operation instead of failing it half
// way through its waves.
type retryingKube struct{ Kube }

func (k retryingKube) Apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (out *unstructured.Unstructured, err error) {
	return k.retryApply(ctx, k.Kube.Apply, obj, dryRun)
}

func (k retryingKube) ApplyNoForce(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (out *unstructured.Unstructured, err error) {
	return k.retryApply(ctx, k.Kube.ApplyNoForce, obj, dryRun)
}

func (k retryingKube) retryApply(ctx context.Context, apply func(context.Context, *unstructured.Unstructured, bool) (*unstructured.Unstructured, error), obj *unstructured.Unstructured, dryRun bool) (out *unstructured.Unstructured, err error) {
	err = retryTransient(ctx, isTransient, func() error {
		out, err = apply(ctx, obj, dryRun)
		return err
	})
	return out, err
}

// Create is retried only when the request cannot have been processed: a
// create whose answer was lost may have created an object with a
// generated name, and a second one would create another.
func (k retryingKube) Create(ctx context.Context, obj *unstructured.Unstructured) (out *unstructured.Unstructured, err error) {
	err = retryTransient(ctx, notProcessed, func() error {
		out, err = k.Kube.Create(ctx, obj)
		return err
	})
	return out, err
}

func (k retryingKube) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (out *unstructured.Unstructured, err error) {
	err = retryTransient(ctx, isTransient, func() error {
		out, err = k.Kube.Get(ctx, gvk, namespace, name)
		return err
	})
	return out, err
}

// Delete is safe to repeat: a missing object is not an error, and the UID
// precondition keeps a repeat from deleting a successor.
func (k retryingKube) Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, policy metav1.DeletionPropagation, uid string) error {
	return retryTransient(ctx, isTransient, func() error {
		return k.Kube.Delete(ctx, gvk, namespace, name, policy, uid)
	})
}

func (k retryingKube) List(ctx context.Context, gvk schema.GroupVersionKind, namespace, selector string) (out []unstructured.Unstructured, err error) {
	err = retryTransient(ctx, isTransient, func() error {
		out, err = k.Kube.List(ctx, gvk, namespace, selector)
		return err
	})
	return out, err
}

// retryTransient calls fn until it succeeds, fails with an error retry does
// not accept, ctx ends, or transientRetryTimeout passes; it returns fn's
// last error.
func retryTransient(ctx context.Context, retry func(error) bool, fn func() error) error {
	deadline := time.Now().Add(transientRetryTimeout)
	delay := firstRetryDelay
	for {
		err := fn()
		if err == nil || !retry(err) || ctx.Err() != nil || time.Now().Add(delay).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// isTransient reports errors that say nothing about the request itself,
// only about the API server's state at the moment. A timeout counts: the
// caller's own context ending is checked apart, so a timeout here is the
// client's per-request one (an API server that accepts connections but
// does not answer yet, as while it starts).
func isTransient(err error) bool {
	var ne net.Error
	return notProcessed(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) || utilnet.IsHTTP2ConnectionLost(err) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// notProcessed reports errors after which the API server certainly did not
// act on the request.
func notProcessed(err error) bool {
	return utilnet.IsConnectionRefused(err) || apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err)
}
