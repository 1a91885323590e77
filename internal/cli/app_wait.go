package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/equality"

	sollv1 "soll.dev/api/v1alpha1"
)

// waiter describes what soll app wait (and sync --wait) waits for.
type waiter struct {
	// operation waits for an operation requested after operationBefore was
	// the operation state to finish, and fails when it fails.
	operation       bool
	operationBefore *sollv1.OperationState
	// sync and health wait for Synced and Healthy.
	sync, health bool
	timeout      time.Duration
}

// goal names what w waits for, for messages.
func (w waiter) goal() string {
	var parts []string
	if w.operation {
		parts = append(parts, "its operation to finish")
	}
	if w.sync {
		parts = append(parts, "Synced")
	}
	if w.health {
		parts = append(parts, "Healthy")
	}
	return strings.Join(parts, " and ")
}

// done reports whether app is where w wants it, or an error when it never
// will be (the awaited operation failed).
func (w waiter) done(app *sollv1.Application) (bool, error) {
	if app.Operation != nil {
		return false, nil // requested, not started
	}
	st := app.Status.OperationState
	if st != nil && (st.Phase == sollv1.OperationRunning || st.Phase == sollv1.OperationTerminating) {
		return false, nil
	}
	if w.operation {
		if st == nil || equality.Semantic.DeepEqual(st, w.operationBefore) {
			return false, nil // the controller has not taken the request yet
		}
		if st.Phase == sollv1.OperationFailed || st.Phase == sollv1.OperationError {
			return false, fmt.Errorf("%s of application %s %s: %s: see soll app get %s",
				operationText(&st.Operation), app.Name, strings.ToLower(string(st.Phase)), st.Message, app.Name)
		}
	}
	if (w.sync || w.health) && app.Status.ObservedGeneration < app.Generation {
		return false, nil // the status describes an older spec
	}
	if w.sync && (app.Status.Sync == nil || app.Status.Sync.Status != sollv1.SyncStatusSynced) {
		return false, nil
	}
	if w.health && healthCode(app.Status.Health) != string(sollv1.HealthHealthy) {
		return false, nil
	}
	return true, nil
}

// progress is the one-line summary of app's state.
func progress(app *sollv1.Application) string {
	sync := ""
	if s := app.Status.Sync; s != nil {
		sync = string(s.Status)
	}
	op := operationPhase(app)
	if st := app.Status.OperationState; app.Operation == nil && st != nil && st.Message != "" {
		op += " (" + st.Message + ")"
	}
	return fmt.Sprintf("sync %s, health %s, operation %s", dash(sync), dash(healthCode(app.Status.Health)), dash(op))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// wait follows the app name until w is done, showing its progress.
func (w waiter) wait(cmd *cobra.Command, be appBackend, name string) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), w.timeout)
	defer cancel()
	p := newProgressWriter(cmd.OutOrStdout(), name)
	last := ""
	err := be.watch(ctx, name, func(app *sollv1.Application) (bool, error) {
		last = progress(app)
		if err := p.update(app); err != nil {
			return false, err
		}
		return w.done(app)
	})
	var ended *watchEnded
	if !errors.As(err, &ended) {
		return err
	}
	if err := cmd.Context().Err(); err != nil {
		return err
	}
	msg := fmt.Sprintf("timed out after %s waiting for application %s to be %s; last status: %s", w.timeout, name, w.goal(), dash(last))
	if ended.lastErr != nil {
		msg += "; last error: " + ended.lastErr.Error()
	}
	return errors.New(msg)
}

func (a *appCmd) waitCommand() *cobra.Command {
	w := waiter{}
	cmd := &cobra.Command{
		Use:   "wait NAME",
		Short: "Wait until an Application is Synced and Healthy",
		Long: "Wait until an Application is Synced and Healthy (or only one of them with --sync or --health), " +
			"no operation is pending or running, and its status describes its current spec.\n" +
			"On a terminal, shows a table of the resources redrawn as they change; otherwise prints a line whenever " +
			"the app or one of its resources changes. Fails with the last status on timeout.",
		Args: exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if w.timeout <= 0 {
				return fmt.Errorf("--timeout %s: must be positive", w.timeout)
			}
			be, err := a.backend(cmd)
			if err != nil {
				return err
			}
			if !w.sync && !w.health {
				w.sync, w.health = true, true
			}
			return w.wait(cmd, be, args[0])
		},
	}
	cmd.Flags().BoolVar(&w.sync, "sync", false, "wait for Synced (without --health: only for Synced)")
	cmd.Flags().BoolVar(&w.health, "health", false, "wait for Healthy (without --sync: only for Healthy)")
	cmd.Flags().DurationVar(&w.timeout, "timeout", 5*time.Minute, "how long to wait")
	return a.nameCommand(cmd)
}
