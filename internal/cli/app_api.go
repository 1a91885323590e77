package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apiclient"
	"soll.dev/internal/apitypes"
)

// streamRetryInterval is the pause before an event stream that ended is
// opened again.
const streamRetryInterval = time.Second

// apiBackend works through soll's API: the server checks RBAC and the
// Projects' rules, and records who asked for each operation.
type apiBackend struct {
	c *apiclient.Client
}

var _ appBackend = (*apiBackend)(nil)

func (b *apiBackend) where() string { return "on soll at " + b.c.Server() }
func (b *apiBackend) flags() string { return "" }

// err says what failed; a missing app gets a hint.
func (b *apiBackend) err(verb, name string, err error) error {
	if err == nil {
		return nil
	}
	what := "applications"
	if name != "" {
		what = "application " + name
	}
	if apiclient.IsNotFound(err) && name != "" {
		return fmt.Errorf("%s not found %s: list apps with soll app list", what, b.where())
	}
	var ue *apiclient.UnreachableError
	if errors.As(err, &ue) {
		return err
	}
	return fmt.Errorf("%s %s: %w", verb, what, err)
}

func (b *apiBackend) list(ctx context.Context, opts apiclient.ListOptions) ([]sollv1.Application, error) {
	apps, err := b.c.ListApplications(ctx, opts)
	return apps, b.err("list", "", err)
}

func (b *apiBackend) get(ctx context.Context, name string) (*sollv1.Application, error) {
	app, err := b.c.GetApplication(ctx, name)
	return app, b.err("get", name, err)
}

func (b *apiBackend) create(ctx context.Context, app *sollv1.Application, cascade bool) (*sollv1.Application, error) {
	out, err := b.c.CreateApplication(ctx, app, cascade)
	var e *apiclient.Error
	if errors.As(err, &e) && e.Code == "AlreadyExists" {
		return nil, fmt.Errorf("application %s already exists %s: change it with soll app set, or delete it first with soll app delete", app.Name, b.where())
	}
	return out, b.err("create", app.Name, err)
}

func (b *apiBackend) isConflict(err error) bool { return apiclient.IsConflict(err) }

func (b *apiBackend) patch(ctx context.Context, app *sollv1.Application, patch map[string]any) (*sollv1.Application, error) {
	out, err := b.c.PatchApplication(ctx, app.Name, withResourceVersion(patch, app.ResourceVersion))
	if b.isConflict(err) {
		return nil, err // modify retries it
	}
	return out, b.err("update", app.Name, err)
}

func (b *apiBackend) delete(ctx context.Context, name string, cascade bool) error {
	return b.err("delete", name, b.c.DeleteApplication(ctx, name, apiclient.DeleteOptions{Cascade: &cascade}))
}

func (b *apiBackend) requestOperation(ctx context.Context, app *sollv1.Application, op *sollv1.Operation) error {
	var err error
	switch {
	case op.Rollback != nil:
		r := op.Rollback
		_, err = b.c.Rollback(ctx, app.Name, apitypes.RollbackRequest{ID: r.ID, Prune: r.Prune, DryRun: r.DryRun})
	case op.Sync != nil:
		s := op.Sync
		_, err = b.c.Sync(ctx, app.Name, apitypes.SyncRequest{Revision: s.Revision, Revisions: s.Revisions, Prune: s.Prune,
			DryRun: s.DryRun, Resources: s.Resources, SyncOptions: s.SyncOptions})
	default:
		return fmt.Errorf("application %s: an operation without sync or rollback", app.Name)
	}
	if b.isConflict(err) {
		// The server refuses while an operation is pending or running;
		// modify reads the app again and operationFree explains.
		return err
	}
	return b.err("request an operation on", app.Name, err)
}

func (b *apiBackend) terminate(ctx context.Context, app *sollv1.Application) error {
	_, err := b.c.Terminate(ctx, app.Name)
	return b.err("terminate the operation of", app.Name, err)
}

func (b *apiBackend) refresh(ctx context.Context, name string, hard bool) error {
	_, err := b.c.Refresh(ctx, name, hard)
	return b.err("refresh", name, err)
}

func (b *apiBackend) unpin(ctx context.Context, app *sollv1.Application) error {
	_, err := b.c.Unpin(ctx, app.Name)
	return b.err("unpin", app.Name, err)
}

func (b *apiBackend) resources(ctx context.Context, name string) ([]sollv1.ResourceStatus, error) {
	out, err := b.c.Resources(ctx, name)
	return out, b.err("get the resources of", name, err)
}

func (b *apiBackend) history(ctx context.Context, name string) ([]sollv1.RevisionHistory, error) {
	out, err := b.c.History(ctx, name)
	return out, b.err("get the history of", name, err)
}

func (b *apiBackend) diff(ctx context.Context, name string) (*apitypes.Diff, error) {
	out, err := b.c.Diff(ctx, name)
	return out, b.err("get the diff of", name, err)
}

func (b *apiBackend) manifests(ctx context.Context, name, revision string) (*apiclient.Manifests, error) {
	out, err := b.c.Manifests(ctx, name, revision)
	var e *apiclient.Error
	if errors.As(err, &e) && e.Status == 501 {
		return nil, fmt.Errorf("soll at %s does not serve rendered manifests: %s", b.c.Server(), e.Message)
	}
	return out, b.err("get the manifests of", name, err)
}

func (b *apiBackend) tree(ctx context.Context, name string) (*apitypes.Tree, error) {
	out, err := b.c.Tree(ctx, name)
	return out, b.err("get the resource tree of", name, err)
}

func (b *apiBackend) events(ctx context.Context, name string) ([]apitypes.Event, error) {
	out, err := b.c.Events(ctx, name)
	return out, b.err("get the events of", name, err)
}

// watch follows the app's event stream, opening it again when the
// server ends it (each new stream starts with the current state).
func (b *apiBackend) watch(ctx context.Context, name string, fn func(*sollv1.Application) (bool, error)) error {
	var lastErr error
	for {
		done, err := b.follow(ctx, name, fn)
		switch {
		case done:
			return err
		case ctx.Err() != nil:
			return &watchEnded{ctxErr: ctx.Err(), lastErr: lastErr}
		case err != nil:
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return &watchEnded{ctxErr: ctx.Err(), lastErr: lastErr}
		case <-time.After(streamRetryInterval):
		}
	}
}

// follow reads one stream until fn is done (done true) or the stream
// ends (done false, with the error that ended it, nil at its clean end):
// a server out of reach or a broken connection is worth another try, an
// error answer (not found, forbidden, logged out) is not.
func (b *apiBackend) follow(ctx context.Context, name string, fn func(*sollv1.Application) (bool, error)) (bool, error) {
	s, err := b.c.StreamApplications(ctx, name)
	if err != nil {
		var ue *apiclient.UnreachableError
		if errors.As(err, &ue) {
			return false, err
		}
		return true, b.err("watch", name, err)
	}
	defer s.Close() //nolint:errcheck // it closes a response body: nothing written is lost
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if ev.Type == apiclient.EventDeleted {
			return true, fmt.Errorf("application %s was deleted %s while waiting for it", name, b.where())
		}
		if done, err := fn(ev.App); done || err != nil {
			return true, err
		}
	}
}
