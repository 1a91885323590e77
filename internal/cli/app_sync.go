package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	sollv1 "soll.dev/api/v1alpha1"
)

// operationFree says why a new operation cannot be requested on app: one
// was requested and not started yet, or one is running. flags are the
// flags that name the app's place in the commands it suggests.
func operationFree(app *sollv1.Application, flags string) error {
	if op := app.Operation; op != nil {
		return fmt.Errorf("application %s already has a requested %s%s that has not started yet: is the soll controller running? "+
			"Wait for it with soll app wait %s%s, or withdraw it with soll app terminate-op %s%s",
			app.Name, operationText(op), initiatorText(op.InitiatedBy), app.Name, flags, app.Name, flags)
	}
	if st := app.Status.OperationState; st != nil && (st.Phase == sollv1.OperationRunning || st.Phase == sollv1.OperationTerminating) {
		return fmt.Errorf("application %s is running an operation (%s %s%s, started %s): wait for it with soll app wait %s%s, or cancel it with soll app terminate-op %s%s",
			app.Name, operationText(&st.Operation), st.Phase, initiatorText(st.Operation.InitiatedBy), timeText(&st.StartedAt),
			app.Name, flags, app.Name, flags)
	}
	return nil
}

// requestOperation requests the operation build returns for the app
// name, unless an operation is pending or running. It returns the
// operation state before the request, so that a waiter can tell the new
// operation's end from the old one's.
func requestOperation(ctx context.Context, be appBackend, name string, build func(*sollv1.Application) (*sollv1.Operation, error)) (*sollv1.OperationState, error) {
	var before *sollv1.OperationState
	_, err := modify(ctx, be, name, func(app *sollv1.Application) error {
		if err := operationFree(app, be.flags()); err != nil {
			return err
		}
		op, err := build(app)
		if err != nil {
			return err
		}
		before = app.Status.OperationState.DeepCopy()
		return be.requestOperation(ctx, app, op)
	})
	return before, err
}

// parseResource parses a --resource value: GROUP:KIND:NAME or
// GROUP:KIND:NAMESPACE/NAME, with an empty GROUP for the core group.
func parseResource(s string) (sollv1.SyncOperationResource, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return sollv1.SyncOperationResource{}, fmt.Errorf("--resource %q: want GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME, "+
			"with an empty GROUP for core kinds (for example :Service:web or apps:Deployment:prod/web)", s)
	}
	r := sollv1.SyncOperationResource{Group: parts[0], Kind: parts[1], Name: parts[2]}
	if ns, name, ok := strings.Cut(parts[2], "/"); ok {
		if ns == "" || name == "" || strings.Contains(name, "/") {
			return sollv1.SyncOperationResource{}, fmt.Errorf("--resource %q: NAMESPACE/NAME needs both parts and one slash", s)
		}
		r.Namespace, r.Name = ns, name
	}
	return r, nil
}

// syncFlags are the flags of soll app sync.
type syncFlags struct {
	prune, dryRun bool
	resources     []string
	revision      string
	wait          bool
	timeout       time.Duration
}

// operation builds the sync operation for app.
func (f *syncFlags) operation(app *sollv1.Application) (*sollv1.Operation, error) {
	op := &sollv1.SyncOperation{Prune: f.prune, DryRun: f.dryRun}
	for _, s := range f.resources {
		r, err := parseResource(s)
		if err != nil {
			return nil, err
		}
		op.Resources = append(op.Resources, r)
	}
	if f.revision != "" {
		if app.Spec.Source == nil {
			return nil, fmt.Errorf("application %s has %d sources and --revision names one revision: sync multi-source apps to their target revisions, or set them in spec.sources",
				app.Name, len(app.Spec.Sources))
		}
		op.Revision = f.revision
	}
	return &sollv1.Operation{Sync: op}, nil
}

func (a *appCmd) syncCommand() *cobra.Command {
	var f syncFlags
	cmd := &cobra.Command{
		Use:   "sync NAME",
		Short: "Ask the controller to sync an Application to Git",
		Example: "  soll app sync guestbook --wait\n" +
			"  soll app sync guestbook --resource apps:Deployment:guestbook --resource :Service:guestbook\n" +
			"  soll app sync guestbook --dry-run --prune",
		Args: exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Check the flags before touching the cluster.
			for _, s := range f.resources {
				if _, err := parseResource(s); err != nil {
					return err
				}
			}
			if f.timeout <= 0 {
				return fmt.Errorf("--timeout %s: must be positive", f.timeout)
			}
			be, err := a.backend(cmd)
			if err != nil {
				return err
			}
			name := args[0]
			before, err := requestOperation(cmd.Context(), be, name, f.operation)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(cmd.OutOrStdout(), "sync of application %s requested\n", name); err != nil {
				return err
			}
			if !f.wait {
				return nil
			}
			w := waiter{operation: true, operationBefore: before, sync: !f.dryRun, health: !f.dryRun, timeout: f.timeout}
			return w.wait(cmd, be, name)
		},
	}
	cmd.Flags().BoolVar(&f.prune, "prune", false, "delete objects that are no longer in Git")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "only show what would change (server-side dry run)")
	cmd.Flags().StringArrayVar(&f.resources, "resource", nil, "sync only this object, as GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME (repeatable)")
	cmd.Flags().StringVar(&f.revision, "revision", "", "sync to this revision instead of the target revision")
	cmd.Flags().BoolVar(&f.wait, "wait", false, "wait for the sync to finish and the app to be Synced and Healthy, showing the progress")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long --wait waits")
	return a.nameCommand(cmd)
}

func (a *appCmd) rollbackCommand() *cobra.Command {
	var prune, dryRun bool
	cmd := &cobra.Command{
		Use:   "rollback NAME ID",
		Short: "Sync an Application back to a history entry (see soll app history) and pin it there",
		Args:  exactlyArgs("NAME", "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			id, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil || id < 0 {
				return fmt.Errorf("history ID %q is not a number: list the IDs with soll app history %s", args[1], name)
			}
			be, err := a.backend(cmd)
			if err != nil {
				return err
			}
			_, err = requestOperation(cmd.Context(), be, name, func(app *sollv1.Application) (*sollv1.Operation, error) {
				for _, h := range app.Status.History {
					if h.ID == id {
						return &sollv1.Operation{Rollback: &sollv1.RollbackOperation{ID: id, Prune: prune, DryRun: dryRun}}, nil
					}
				}
				return nil, fmt.Errorf("application %s has no history entry %d: list the entries with soll app history %s%s", name, id, name, be.flags())
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "rollback of application %s to history entry %d requested: it stays pinned there until soll app unpin %s\n", name, id, name)
			return err
		},
	}
	cmd.Flags().BoolVar(&prune, "prune", false, "delete objects the rolled-back state does not contain")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only show what the rollback would change")
	return a.nameCommand(cmd)
}

func (a *appCmd) terminateOpCommand() *cobra.Command {
	return a.nameCommand(&cobra.Command{
		Use:   "terminate-op NAME",
		Short: "Cancel the running operation of an Application, or withdraw a requested one",
		Args:  exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			be, err := a.backend(cmd)
			if err != nil {
				return err
			}
			name := args[0]
			running := false
			_, err = modify(cmd.Context(), be, name, func(app *sollv1.Application) error {
				st := app.Status.OperationState
				running = st != nil && st.Phase == sollv1.OperationRunning
				if !running && app.Operation == nil {
					last := "none"
					if st != nil {
						last = string(st.Phase)
					}
					return fmt.Errorf("application %s has no running operation to terminate (last operation: %s)", name, last)
				}
				return be.terminate(cmd.Context(), app)
			})
			if err != nil {
				return err
			}
			msg := "operation of application %s is terminating: the controller stops it after the current step\n"
			if !running {
				msg = "requested operation of application %s withdrawn before it started\n"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), msg, name)
			return err
		},
	})
}

func (a *appCmd) refreshCommand() *cobra.Command {
	var hard bool
	cmd := &cobra.Command{
		Use:   "refresh NAME",
		Short: "Ask the controller to compare an Application with Git now",
		Args:  exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			be, err := a.backend(cmd)
			if err != nil {
				return err
			}
			if err := be.refresh(cmd.Context(), args[0], hard); err != nil {
				return err
			}
			mode := "normal"
			if hard {
				mode = "hard"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s refresh of application %s requested\n", mode, args[0])
			return err
		},
	}
	cmd.Flags().BoolVar(&hard, "hard", false, "bypass the caches: fetch the repository again")
	return a.nameCommand(cmd)
}

func (a *appCmd) unpinCommand() *cobra.Command {
	return a.nameCommand(&cobra.Command{
		Use:   "unpin NAME",
		Short: "Remove an Application's pin (set by a rollback) so that it follows its target revision again",
		Args:  exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			be, err := a.backend(cmd)
			if err != nil {
				return err
			}
			pinned := false
			_, err = modify(cmd.Context(), be, args[0], func(app *sollv1.Application) error {
				if pinned = app.Spec.Pin != nil; !pinned {
					return nil
				}
				return be.unpin(cmd.Context(), app)
			})
			if err != nil {
				return err
			}
			msg := "application %s unpinned: it follows its target revision again\n"
			if !pinned {
				msg = "application %s is not pinned: nothing to do\n"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), msg, args[0])
			return err
		},
	})
}
