package controller

import (
	"cmp"
	"context"
	"log/slog"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/tracing"
)

// Every line a reconcile of an app logs carries the app (namespace/name)
// and, when traces are sent (see internal/tracing), trace_id, the id of
// the reconcile's trace: a line leads to its trace, and one reconcile's
// lines can be picked out of all. The reconcile's log is made once, when
// the reconcile starts, and travels in its context.

// reconcileLogKey is the context key of a reconcile's log.
type reconcileLogKey struct{}

// withReconcileLog returns ctx with the log of a reconcile of the app
// named app (namespace/name): log (nil: slog.Default()) with the app and
// ctx's trace id.
func withReconcileLog(ctx context.Context, log *slog.Logger, app string) context.Context {
	l := cmp.Or(log, slog.Default()).With("app", app)
	if id := tracing.TraceID(ctx); id != "" {
		l = l.With("trace_id", id)
	}
	return context.WithValue(ctx, reconcileLogKey{}, l)
}

// appLog returns the log of app in ctx's reconcile; outside a reconcile,
// r.Log (nil: slog.Default()) with the app.
func (r *Reconciler) appLog(ctx context.Context, app *sollv1.Application) *slog.Logger {
	if l, ok := ctx.Value(reconcileLogKey{}).(*slog.Logger); ok {
		return l
	}
	return cmp.Or(r.Log, slog.Default()).With("app", app.Namespace+"/"+app.Name)
}
