package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// operationBusy refuses a new operation while one is requested and not
// started, or running.
func operationBusy(app *sollv1.Application) error {
	if app.Operation != nil {
		return conflict("application %s already has a requested operation that the controller has not started yet; wait for it or terminate it", app.Name)
	}
	if st := app.Status.OperationState; st != nil && (st.Phase == sollv1.OperationRunning || st.Phase == sollv1.OperationTerminating) {
		return conflict("application %s is running an operation (phase %s, started %s); wait for it or terminate it",
			app.Name, st.Phase, st.StartedAt.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return nil
}

// mutateApp is the read-modify-write of the operation endpoints: it reads
// the app from the API server, checks p's right to action, lets build
// compute a JSON merge patch (nil: nothing to do) and sends it with the
// resourceVersion read, retrying from the read when the app changed
// meanwhile. status sends the patch to the status subresource.
func (s *Server) mutateApp(ctx context.Context, p *Principal, action, name string, status bool,
	build func(*sollv1.Application) (map[string]any, error)) (*sollv1.Application, error) {
	var app *sollv1.Application
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		if app, err = s.readApp(ctx, p, action, name); err != nil {
			return err
		}
		patch, err := build(app)
		if err != nil || patch == nil {
			return err
		}
		meta, _ := patch["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			patch["metadata"] = meta
		}
		meta["resourceVersion"] = app.ResourceVersion
		b, err := json.Marshal(patch)
		if err != nil {
			return err
		}
		if status {
			return s.opts.Client.Status().Patch(ctx, app, client.RawPatch(types.MergePatchType, b))
		}
		return s.opts.Client.Patch(ctx, app, client.RawPatch(types.MergePatchType, b))
	})
	return app, err
}

// requestOperation sets the app's operation field to op unless another
// operation is pending or running (409).
func (s *Server) requestOperation(w http.ResponseWriter, r *http.Request, p *Principal, action string, build func(*sollv1.Application) (*sollv1.Operation, error)) error {
	app, err := s.mutateApp(r.Context(), p, action, r.PathValue("name"), false, func(app *sollv1.Application) (map[string]any, error) {
		if err := operationBusy(app); err != nil {
			return nil, err
		}
		op, err := build(app)
		if err != nil {
			return nil, err
		}
		op.InitiatedBy = &sollv1.OperationInitiator{Username: p.Subject}
		return map[string]any{"operation": op}, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, present(app))
	return nil
}

func (s *Server) syncApp(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req apitypes.SyncRequest
	if err := decodeOptional(r, &req); err != nil {
		return err
	}
	for i, res := range req.Resources {
		if res.Kind == "" || res.Name == "" {
			return invalid(fmt.Sprintf("resources[%d]", i), "resources[%d] needs kind and name", i)
		}
	}
	return s.requestOperation(w, r, p, actSync, func(app *sollv1.Application) (*sollv1.Operation, error) {
		op := &sollv1.SyncOperation{Prune: req.Prune, DryRun: req.DryRun, Resources: req.Resources, SyncOptions: req.SyncOptions}
		switch {
		case req.Revision != "" && app.Spec.Source == nil:
			return nil, invalid("revision", "application %s has %d sources: give one revision per source in revisions", app.Name, len(app.Spec.Sources))
		case len(req.Revisions) > 0 && len(req.Revisions) != len(app.Spec.Sources):
			return nil, invalid("revisions", "application %s has %d sources in spec.sources and revisions has %d entries", app.Name, len(app.Spec.Sources), len(req.Revisions))
		}
		if req.Revision != "" || len(req.Revisions) > 0 {
			if err := s.forbid(p, resApplications, actOverride, appObject(app)); err != nil {
				return nil, err
			}
			op.Revision, op.Revisions = req.Revision, req.Revisions
		}
		return &sollv1.Operation{Sync: op}, nil
	})
}

func (s *Server) rollbackApp(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req apitypes.RollbackRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	return s.requestOperation(w, r, p, actRollback, func(app *sollv1.Application) (*sollv1.Operation, error) {
		for _, h := range app.Status.History {
			if h.ID == req.ID {
				return &sollv1.Operation{Rollback: &sollv1.RollbackOperation{ID: req.ID, Prune: req.Prune, DryRun: req.DryRun}}, nil
			}
		}
		return nil, invalid("id", "application %s has no history entry %d; GET /api/v1/applications/%s/history lists them", app.Name, req.ID, app.Name)
	})
}

// terminateApp stops the running operation, or withdraws a requested one
// the controller has not started.
func (s *Server) terminateApp(w http.ResponseWriter, r *http.Request, p *Principal) error {
	name := r.PathValue("name")
	app, err := s.readApp(r.Context(), p, actSync, name)
	if err != nil {
		return err
	}
	running := func(a *sollv1.Application) bool {
		st := a.Status.OperationState
		return st != nil && st.Phase == sollv1.OperationRunning
	}
	if !running(app) && app.Operation != nil {
		app, err = s.mutateApp(r.Context(), p, actSync, name, false, func(a *sollv1.Application) (map[string]any, error) {
			if a.Operation == nil {
				return nil, nil
			}
			return map[string]any{"operation": nil}, nil
		})
	} else {
		app, err = s.mutateApp(r.Context(), p, actSync, name, true, func(a *sollv1.Application) (map[string]any, error) {
			if !running(a) {
				return nil, conflict("application %s has no running operation to terminate", name)
			}
			return map[string]any{"status": map[string]any{"operationState": map[string]any{"phase": sollv1.OperationTerminating}}}, nil
		})
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, present(app))
	return nil
}

// refreshApp asks the controller to compare the app with Git now; it
// needs only the get right, like reading the app.
func (s *Server) refreshApp(w http.ResponseWriter, r *http.Request, p *Principal) error {
	hard, err := boolParam(r, "hard", false)
	if err != nil {
		return err
	}
	mode := "normal"
	if hard {
		mode = "hard"
	}
	app, err := s.mutateApp(r.Context(), p, actGet, r.PathValue("name"), false, func(*sollv1.Application) (map[string]any, error) {
		return map[string]any{"metadata": map[string]any{"annotations": map[string]any{
			sollv1.RefreshAnnotation: mode,
			// Newer than any pending webhook's request: the listing for
			// the push need not cover this one.
			sollv1.RefreshPushAnnotation: nil,
		}}}, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, present(app))
	return nil
}

// unpinApp removes the pin a rollback set; it needs the rollback right,
// since it undoes what a rollback did.
func (s *Server) unpinApp(w http.ResponseWriter, r *http.Request, p *Principal) error {
	app, err := s.mutateApp(r.Context(), p, actRollback, r.PathValue("name"), false, func(a *sollv1.Application) (map[string]any, error) {
		if a.Spec.Pin == nil {
			return nil, nil
		}
		return map[string]any{"spec": map[string]any{"pin": nil}}, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, present(app))
	return nil
}

// boolParam reads the query parameter name: true, false or absent (def).
func boolParam(r *http.Request, name string, def bool) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid(name, "%s %q must be true or false", name, v)
	}
	return b, nil
}
