package cli

import (
	"context"
	"fmt"
	"time"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apiclient"
	"soll.dev/internal/apitypes"
)

// appBackend is where soll app reads and changes Applications: through
// soll's API (apiBackend, the default once a server is configured) or
// directly through the Kubernetes API with the user's kubeconfig
// (coreBackend, --core). The commands and their output are the same on
// both.
type appBackend interface {
	// where says where the apps live, for messages: "in namespace soll",
	// "on soll at https://...".
	where() string
	// flags are the flags that choose this place again in the commands a
	// message suggests: " -n soll" or "".
	flags() string

	list(ctx context.Context, opts apiclient.ListOptions) ([]sollv1.Application, error)
	get(ctx context.Context, name string) (*sollv1.Application, error)
	create(ctx context.Context, app *sollv1.Application, cascade bool) (*sollv1.Application, error)
	// patch sends a JSON merge patch computed from app, failing with an
	// error that isConflict recognises when app changed since it was read.
	patch(ctx context.Context, app *sollv1.Application, patch map[string]any) (*sollv1.Application, error)
	isConflict(err error) bool
	delete(ctx context.Context, name string, cascade bool) error

	// requestOperation sets op on app, read before: a conflict when app
	// changed since.
	requestOperation(ctx context.Context, app *sollv1.Application, op *sollv1.Operation) error
	// terminate ends app's running operation, or withdraws its requested
	// one.
	terminate(ctx context.Context, app *sollv1.Application) error
	refresh(ctx context.Context, name string, hard bool) error
	unpin(ctx context.Context, app *sollv1.Application) error

	resources(ctx context.Context, name string) ([]sollv1.ResourceStatus, error)
	history(ctx context.Context, name string) ([]sollv1.RevisionHistory, error)
	diff(ctx context.Context, name string) (*apitypes.Diff, error)
	manifests(ctx context.Context, name, revision string) (*apiclient.Manifests, error)
	tree(ctx context.Context, name string) (*apitypes.Tree, error)
	events(ctx context.Context, name string) ([]apitypes.Event, error)

	// watch calls fn with the app's state, and again at each change,
	// until fn returns true or an error, or ctx ends (a *watchEnded).
	watch(ctx context.Context, name string, fn func(*sollv1.Application) (bool, error)) error
}

// watchEnded is the error of a watch whose context ended: lastErr is the
// last transient error met, if any.
type watchEnded struct {
	ctxErr, lastErr error
}

func (e *watchEnded) Error() string {
	if e.lastErr != nil {
		return fmt.Sprintf("%v; last error: %v", e.ctxErr, e.lastErr)
	}
	return e.ctxErr.Error()
}

func (e *watchEnded) Unwrap() error { return e.ctxErr }

// maxConflictRetries bounds the read-modify-write retries of a change
// that keeps meeting concurrent ones.
const maxConflictRetries = 5

// modify reads the app name, lets change act on what it read (nil error:
// done) and does it all again when change meets a concurrent change of
// the app. It returns the app as last read.
func modify(ctx context.Context, be appBackend, name string, change func(*sollv1.Application) error) (*sollv1.Application, error) {
	for attempt := 0; ; attempt++ {
		app, err := be.get(ctx, name)
		if err != nil {
			return nil, err
		}
		err = change(app)
		if err == nil || !be.isConflict(err) || attempt == maxConflictRetries {
			return app, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
		}
	}
}

// patchApp changes the app name with the merge patch build computes from
// it (nil: nothing to change), retrying on conflicts. It returns the
// patched app (or the one read when there was nothing to change).
func patchApp(ctx context.Context, be appBackend, name string, build func(*sollv1.Application) (map[string]any, error)) (*sollv1.Application, error) {
	var out *sollv1.Application
	_, err := modify(ctx, be, name, func(app *sollv1.Application) error {
		patch, err := build(app)
		if err != nil {
			return err
		}
		if patch == nil {
			out = app
			return nil
		}
		out, err = be.patch(ctx, app, patch)
		return err
	})
	return out, err
}

// withResourceVersion adds metadata.resourceVersion rv to a merge patch,
// so that the patch fails if the object changed since it was read at rv.
func withResourceVersion(patch map[string]any, rv string) map[string]any {
	meta, _ := patch["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		patch["metadata"] = meta
	}
	meta["resourceVersion"] = rv
	return patch
}

// diffFromStatus is the diff the status of app records: its resources
// that differ from Git or would be pruned.
func diffFromStatus(app *sollv1.Application) *apitypes.Diff {
	d := &apitypes.Diff{Sync: app.Status.Sync, Resources: []sollv1.ResourceStatus{}}
	for _, res := range app.Status.Resources {
		if res.Status == sollv1.SyncStatusOutOfSync || res.RequiresPruning {
			d.Resources = append(d.Resources, res)
		}
	}
	return d
}
