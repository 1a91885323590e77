package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apiclient"
	"soll.dev/internal/apitypes"
)

// listPageSize is how many Applications one List request returns; the
// list is read in pages so that thousands of apps neither time out nor
// hold the API server's memory.
const listPageSize = 500

// waitInterval is how often the core backend reads an Application it
// watches.
const waitInterval = 500 * time.Millisecond

// coreBackend reads and writes Application objects directly with the
// user's own Kubernetes credentials, in the namespace of -n.
type coreBackend struct {
	c  client.Client
	ns string
}

var _ appBackend = (*coreBackend)(nil)

func (b *coreBackend) where() string { return "in namespace " + b.ns }
func (b *coreBackend) flags() string { return " -n " + b.ns }

func (b *coreBackend) key(name string) client.ObjectKey {
	return client.ObjectKey{Namespace: b.ns, Name: name}
}

func (b *coreBackend) err(verb, name string, err error) error {
	what := "applications"
	if name != "" {
		what = "application " + name
	}
	return apiError(verb, what, b.ns, err)
}

func (b *coreBackend) list(ctx context.Context, opts apiclient.ListOptions) ([]sollv1.Application, error) {
	var sel labels.Selector
	if opts.Selector != "" {
		var err error
		if sel, err = labels.Parse(opts.Selector); err != nil {
			return nil, fmt.Errorf("--selector %q is not a label selector: %w", opts.Selector, err)
		}
	}
	if opts.Sort != "" && opts.Sort != "name" {
		return nil, fmt.Errorf("--sort %s needs soll's API: in --core mode apps are listed by name", opts.Sort)
	}
	apps, err := listApps(ctx, b.c, b.ns, listPageSize, sel)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(apps, func(a sollv1.Application) bool { return !matches(opts, &a) }), nil
}

// listApps lists the Applications in ns that sel selects (nil: all),
// pageSize at a time, sorted by name.
func listApps(ctx context.Context, c client.Client, ns string, pageSize int64, sel labels.Selector) ([]sollv1.Application, error) {
	var apps []sollv1.Application
	cont := ""
	opts := []client.ListOption{client.InNamespace(ns), client.Limit(pageSize)}
	if sel != nil {
		opts = append(opts, client.MatchingLabelsSelector{Selector: sel})
	}
	for {
		var page sollv1.ApplicationList
		if err := c.List(ctx, &page, append(opts, client.Continue(cont))...); err != nil {
			return nil, apiError("list", "applications", ns, err)
		}
		apps = append(apps, page.Items...)
		if cont = page.Continue; cont == "" {
			break
		}
	}
	slices.SortFunc(apps, func(x, y sollv1.Application) int { return strings.Compare(x.Name, y.Name) })
	return apps, nil
}

// matches applies the list filters other than the label selector, as the
// API does.
func matches(o apiclient.ListOptions, a *sollv1.Application) bool {
	project := a.Spec.Project
	if project == "" {
		project = "default"
	}
	sync, health := string(sollv1.SyncStatusUnknown), string(sollv1.HealthUnknown)
	if s := a.Status.Sync; s != nil && s.Status != "" {
		sync = string(s.Status)
	}
	if h := a.Status.Health; h != nil && h.Status != "" {
		health = string(h.Status)
	}
	oneOf := func(vs []string, v string) bool { return len(vs) == 0 || slices.Contains(vs, v) }
	return oneOf(o.Projects, project) && oneOf(o.SyncStatuses, sync) && oneOf(o.Healths, health) &&
		oneOf(o.Namespaces, a.Spec.Destination.Namespace) &&
		strings.Contains(strings.ToLower(a.Name), strings.ToLower(o.Search))
}

func (b *coreBackend) get(ctx context.Context, name string) (*sollv1.Application, error) {
	app := &sollv1.Application{}
	if err := b.c.Get(ctx, b.key(name), app); err != nil {
		return nil, b.err("get", name, err)
	}
	return app, nil
}

func (b *coreBackend) create(ctx context.Context, app *sollv1.Application, cascade bool) (*sollv1.Application, error) {
	app = app.DeepCopy()
	app.Namespace = b.ns
	if cascade {
		controllerutil.AddFinalizer(app, sollv1.ResourcesFinalizer)
	}
	if err := b.c.Create(ctx, app); err != nil {
		return nil, b.err("create", app.Name, err)
	}
	return app, nil
}

// conflictError marks a write refused because the object changed since
// it was read; modify retries it.
type conflictError struct{ err error }

func (e *conflictError) Error() string { return e.err.Error() }
func (e *conflictError) Unwrap() error { return e.err }

func (b *coreBackend) isConflict(err error) bool {
	_, ok := err.(*conflictError)
	return ok
}

// send patches app, or its status subresource, with patch and app's
// resourceVersion, so that a concurrent change is refused.
func (b *coreBackend) send(ctx context.Context, verb string, app *sollv1.Application, status bool, patch map[string]any) (*sollv1.Application, error) {
	raw, err := json.Marshal(withResourceVersion(patch, app.ResourceVersion))
	if err != nil {
		return nil, err
	}
	out := app.DeepCopy()
	p := client.RawPatch(types.MergePatchType, raw)
	if status {
		err = b.c.Status().Patch(ctx, out, p)
	} else {
		err = b.c.Patch(ctx, out, p)
	}
	if apierrors.IsConflict(err) {
		return nil, &conflictError{b.err(verb, app.Name, err)}
	}
	if err != nil {
		return nil, b.err(verb, app.Name, err)
	}
	return out, nil
}

func (b *coreBackend) patch(ctx context.Context, app *sollv1.Application, patch map[string]any) (*sollv1.Application, error) {
	return b.send(ctx, "update", app, false, patch)
}

func (b *coreBackend) delete(ctx context.Context, name string, cascade bool) error {
	// The finalizer decides what the controller does on deletion: with
	// it, it deletes the Application's objects first.
	app, err := patchApp(ctx, b, name, func(app *sollv1.Application) (map[string]any, error) {
		if controllerutil.ContainsFinalizer(app, sollv1.ResourcesFinalizer) == cascade {
			return nil, nil
		}
		fins := slices.DeleteFunc(slices.Clone(app.Finalizers), func(f string) bool { return f == sollv1.ResourcesFinalizer })
		if cascade {
			fins = append(fins, sollv1.ResourcesFinalizer)
		}
		return map[string]any{"metadata": map[string]any{"finalizers": fins}}, nil
	})
	if err != nil {
		return err
	}
	if err := b.c.Delete(ctx, app, client.Preconditions{UID: &app.UID}); err != nil {
		return b.err("delete", name, err)
	}
	return nil
}

func (b *coreBackend) requestOperation(ctx context.Context, app *sollv1.Application, op *sollv1.Operation) error {
	op = op.DeepCopy()
	op.InitiatedBy = &sollv1.OperationInitiator{Username: username()}
	_, err := b.send(ctx, "request an operation on", app, false, map[string]any{"operation": op})
	return err
}

func (b *coreBackend) terminate(ctx context.Context, app *sollv1.Application) error {
	if st := app.Status.OperationState; st == nil || st.Phase != sollv1.OperationRunning {
		// Not started yet: withdraw the request.
		_, err := b.send(ctx, "withdraw the operation of", app, false, map[string]any{"operation": nil})
		return err
	}
	_, err := b.send(ctx, "terminate the operation of", app, true,
		map[string]any{"status": map[string]any{"operationState": map[string]any{"phase": sollv1.OperationTerminating}}})
	return err
}

func (b *coreBackend) refresh(ctx context.Context, name string, hard bool) error {
	mode := "normal"
	if hard {
		mode = "hard"
	}
	_, err := patchApp(ctx, b, name, func(*sollv1.Application) (map[string]any, error) {
		return map[string]any{"metadata": map[string]any{"annotations": map[string]any{
			sollv1.RefreshAnnotation: mode,
			// Newer than any pending webhook's request: the listing for
			// the push need not cover this one.
			sollv1.RefreshPushAnnotation: nil,
		}}}, nil
	})
	return err
}

func (b *coreBackend) unpin(ctx context.Context, app *sollv1.Application) error {
	_, err := b.send(ctx, "unpin", app, false, map[string]any{"spec": map[string]any{"pin": nil}})
	return err
}

func (b *coreBackend) resources(ctx context.Context, name string) ([]sollv1.ResourceStatus, error) {
	app, err := b.get(ctx, name)
	if err != nil {
		return nil, err
	}
	return app.Status.Resources, nil
}

func (b *coreBackend) history(ctx context.Context, name string) ([]sollv1.RevisionHistory, error) {
	app, err := b.get(ctx, name)
	if err != nil {
		return nil, err
	}
	return app.Status.History, nil
}

func (b *coreBackend) diff(ctx context.Context, name string) (*apitypes.Diff, error) {
	app, err := b.get(ctx, name)
	if err != nil {
		return nil, err
	}
	d := diffFromStatus(app)
	d.Note = "--core reads the app's status, which records which resources differ from Git but not how: soll's API shows their diffs"
	return d, nil
}

// needsAPI is the error of the commands that only soll's API serves.
func (b *coreBackend) needsAPI(what string) error {
	return fmt.Errorf("%s needs soll's API server, which reads live objects and renders manifests: log in with soll login SERVER (or pass --server) and drop --core, --kubeconfig and -n", what)
}

func (b *coreBackend) manifests(context.Context, string, string) (*apiclient.Manifests, error) {
	return nil, b.needsAPI("soll app manifests")
}

func (b *coreBackend) tree(context.Context, string) (*apitypes.Tree, error) {
	return nil, b.needsAPI("soll app tree")
}

func (b *coreBackend) events(context.Context, string) ([]apitypes.Event, error) {
	return nil, b.needsAPI("soll app events")
}

// watch polls the Application: the Kubernetes API offers watches, but a
// poll every half second is plenty for a person waiting and needs no
// watch permission.
func (b *coreBackend) watch(ctx context.Context, name string, fn func(*sollv1.Application) (bool, error)) error {
	ticker := time.NewTicker(waitInterval)
	defer ticker.Stop()
	var lastErr error
	for {
		app := &sollv1.Application{}
		err := b.c.Get(ctx, b.key(name), app)
		switch {
		case apierrors.IsNotFound(err):
			return b.err("wait for", name, err)
		case err != nil && ctx.Err() == nil:
			lastErr = err // API servers have transient errors: try again
		case err == nil:
			lastErr = nil
			done, err := fn(app)
			if done || err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return &watchEnded{ctxErr: ctx.Err(), lastErr: lastErr}
		case <-ticker.C:
		}
	}
}
