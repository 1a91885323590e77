package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	gosync "sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/project"
	"soll.dev/internal/resource"
	syncengine "soll.dev/internal/sync"
)

// DefaultOperationTimeout bounds one sync operation unless the app's
// spec.syncPolicy.operationTimeout says otherwise.
const DefaultOperationTimeout = 30 * time.Minute

// operationTimeout is the bound of app's sync operations. The CRD refuses
// values outside 10s..24h; an out-of-range one that got past it (an older
// CRD) is clamped.
func operationTimeout(app *sollv1.Application) time.Duration {
	p := app.Spec.SyncPolicy
	if p == nil || p.OperationTimeout == nil || p.OperationTimeout.Duration <= 0 {
		return DefaultOperationTimeout
	}
	return min(max(p.OperationTimeout.Duration, 10*time.Second), 24*time.Hour)
}

// progressInterval is the least time between two writes of an operation's
// progress that finished no hook.
const progressInterval = 2 * time.Second

// recorder writes a running operation's state to the app's status, from
// the operation's progress reports and from a timer. Writes never overlap:
// a late timer write must not overwrite newer progress. The write under
// way holds turn, a channel rather than the mutex, so that the mutex, which
// guards the fields below, is never held across a call to the API server;
// waiting for the turn is waiting for the write under way, which
// StatusWriteTimeout bounds. Writes outlive the reconcile's context: the
// progress of an operation the stopping controller interrupts is kept for
// the next one to resume from.
type recorder struct {
	r    *Reconciler
	app  *sollv1.Application
	turn chan struct{}

	mu      gosync.Mutex
	timer   *time.Timer
	stopped bool
	written bool
}

func newRecorder(r *Reconciler, app *sollv1.Application) *recorder {
	return &recorder{r: r, app: app, turn: make(chan struct{}, 1)}
}

// write records st now, unless recording has stopped.
func (w *recorder) write(ctx context.Context, st *sollv1.OperationState) error {
	w.turn <- struct{}{}
	defer func() { <-w.turn }()
	return w.writeTurn(ctx, st, false)
}

// writeTurn writes st; the caller holds the turn. onlyFirst skips the
// write when something was written already.
func (w *recorder) writeTurn(ctx context.Context, st *sollv1.OperationState, onlyFirst bool) error {
	w.mu.Lock()
	skip := w.stopped || (onlyFirst && w.written)
	w.written = w.written || !skip
	w.mu.Unlock()
	if skip {
		return nil
	}
	return w.r.patchStatus(context.WithoutCancel(ctx), w.app, func(s *sollv1.ApplicationStatus) { s.OperationState = st })
}

// after records st in d unless something was written by then.
func (w *recorder) after(ctx context.Context, d time.Duration, st *sollv1.OperationState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer = time.AfterFunc(d, func() {
		w.turn <- struct{}{}
		defer func() { <-w.turn }()
		w.r.logStatusError(ctx, w.app, "operation state", w.writeTurn(ctx, st, true))
	})
}

// stop ends recording. It returns once no write is under way: the app is
// the caller's alone again.
func (w *recorder) stop() {
	w.mu.Lock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	// Wait for the write under way, if any, to end.
	w.turn <- struct{}{}
	<-w.turn
}

// held is what held an automated sync back, for the status and the next
// reconcile.
type held struct {
	// window is the sync window state when it held an automated sync
	// back; nil otherwise.
	window *project.WindowState
	// healAfter, when positive, is when drift that the self-heal backoff
	// held back is to be healed.
	healAfter time.Duration
	// deps is what spec.dependsOn says, for the status; nil when the
	// app's dependencies are met (or it has none).
	deps *dependencyWait
}

// nextOperation decides whether an operation runs now: a requested one, an
// interrupted or retried one (resumed), or an automated sync. automated
// reports whether soll itself initiated it; h says what held a sync back.
// deps is what the app's dependencies say (nil: met): a requested sync
// waits for them, or is refused when they never will be (runOperation).
func (r *Reconciler) nextOperation(app *sollv1.Application, c *appstate.Comparison, deps *dependencyWait) (op *sollv1.Operation, automated bool, h held) {
	h.deps = deps
	if st := app.Status.OperationState; st != nil && (st.Phase == sollv1.OperationRunning || st.Phase == sollv1.OperationTerminating) && app.Operation == nil {
		// Interrupted by a restart, or waiting for a retry: resume. It
		// started when its dependencies were met.
		return st.Operation.DeepCopy(), st.Operation.InitiatedBy != nil && st.Operation.InitiatedBy.Automated, h
	}
	if app.Operation != nil {
		if deps != nil && !deps.refuses() {
			return nil, false, h // the request stays until they are met
		}
		return app.Operation.DeepCopy(), false, h
	}
	pol := app.Spec.SyncPolicy
	if pol == nil || pol.Automated == nil || (pol.Automated.Enabled != nil && !*pol.Automated.Enabled) || c.Synced {
		return nil, false, h
	}
	if len(c.Results) == 0 && !pol.Automated.AllowEmpty {
		return nil, false, h
	}
	if ws := syncWindow(c.Project, app); !ws.SyncAllowed {
		h.window = &ws
		return nil, false, h
	}
	if deps != nil {
		return nil, false, h
	}
	revs := c.Revisions()
	if st := app.Status.OperationState; st != nil && st.SyncResult != nil && slices.Equal(st.SyncResult.Revisions, revs) {
		// This revision was synced already. A failure is not retried
		// (no retry storm on a broken commit); drift after a success is
		// healed only with selfHeal, and not too often.
		if st.Phase != sollv1.OperationSucceeded || !pol.Automated.SelfHeal {
			return nil, false, h
		}
		key := client.ObjectKeyFromObject(app)
		if last := r.apps.get(key).lastHeal; !last.IsZero() && time.Since(last) < r.SelfHealBackoff {
			// Not dropped: the drift is healed when the backoff ends,
			// even if no other event wakes the app before then.
			h.healAfter = r.SelfHealBackoff - time.Since(last)
			return nil, false, h
		}
		now := time.Now()
		r.apps.update(key, func(rec *appRecord) { rec.lastHeal = now })
	}
	return &sollv1.Operation{
		Sync:        &sollv1.SyncOperation{Revisions: revs, Prune: pol.Automated.Prune},
		InitiatedBy: &sollv1.OperationInitiator{Username: "soll", Automated: true},
		Retry:       pol.Retry,
	}, true, h
}

// syncWindow tells whether app may sync now under its Project's sync
// windows, manually or automatically, and when to look again.
func syncWindow(p *sollv1.Project, app *sollv1.Application) project.WindowState {
	return project.Windows(p, app, time.Now())
}

// runOperation runs op to the end (or to a scheduled retry), persisting its
// state in status.operationState as it goes, so a restarted controller
// resumes it. At the end it returns finish, the status change that records
// the outcome, for the caller to write together with the comparison that
// follows: one status write instead of two. A nil finish with a nil error
// means a retry is scheduled (and written). deps is what the app's
// dependencies said (nextOperation): a requested sync they refuse ends
// here.
func (r *Reconciler) runOperation(ctx context.Context, app *sollv1.Application, op *sollv1.Operation, automated bool, c *appstate.Comparison, deps *dependencyWait) (finish statusChange, err error) {
	now := metav1.Now()
	// state is a copy: app.Status changes only through patchStatus, which
	// writes what differs from app.Status.
	state := app.Status.OperationState.DeepCopy()
	resumed := state != nil && (state.Phase == sollv1.OperationRunning || state.Phase == sollv1.OperationTerminating) && app.Operation == nil
	if !resumed {
		state = &sollv1.OperationState{Operation: *op, Phase: sollv1.OperationRunning, StartedAt: now, Message: "starting"}
		r.operationLog(ctx, app, state).Info("operation started", "automated", automated)
	} else {
		r.operationLog(ctx, app, state).Info("operation resumed", "phase", string(state.Phase))
	}
	if r.shards != nil {
		// Sharded: the operation is this replica's once it has claimed
		// it, unless another live replica runs it.
		if resumed && state.Controller != "" && state.Controller != r.shards.id && r.shards.alive(state.Controller) {
			r.operationLog(ctx, app, state).Info("operation runs on another replica", "replica", state.Controller)
			return nil, nil
		}
		state.Controller = r.shards.id
		if err := r.claimOperation(ctx, app, state.DeepCopy()); err != nil {
			if apierrors.IsConflict(err) {
				// Another replica claimed it, or the app changed since
				// it was read: look again.
				r.operationLog(ctx, app, state).Info("operation not claimed: the application changed since it was read (another replica may have claimed it); looking again")
				return nil, errClaimLost
			}
			return nil, err
		}
	}
	if state.Phase == sollv1.OperationTerminating {
		return r.finishOperation(ctx, app, state, sollv1.ReasonTerminated, "operation terminated", nil), nil
	}
	if !resumed && !automated {
		if ws := syncWindow(c.Project, app); !ws.ManualAllowed {
			if err := r.takeOperation(ctx, app); err != nil {
				return nil, err
			}
			return r.finishOperation(ctx, app, state, sollv1.ReasonSyncWindowClosed, "sync denied by the project's sync windows: "+ws.Reason, nil), nil
		}
		if deps != nil && deps.refuses() {
			if err := r.takeOperation(ctx, app); err != nil {
				return nil, err
			}
			return r.finishOperation(ctx, app, state, deps.reason, "sync refused: "+deps.message, nil), nil
		}
	}
	// rec records the operation's state while it runs. A requested
	// operation is recorded at once (its request is taken from spec
	// next); a new automated one only once it lasts (QuietOperation), or
	// waits, or has finished a hook. Until then, a restarted controller
	// simply starts it again.
	rec := newRecorder(r, app)
	quiet := automated && !resumed && r.shards == nil
	if !quiet {
		if err := rec.write(ctx, state.DeepCopy()); err != nil {
			return nil, err
		}
	}
	// The request is taken: remove it, so it runs once.
	if err := r.takeOperation(ctx, app); err != nil {
		return nil, err
	}
	who := "user"
	if automated {
		who = "automated sync"
	} else if op.InitiatedBy != nil && op.InitiatedBy.Username != "" {
		who = op.InitiatedBy.Username
	}

	// Rollback: pin the revision of a history entry, then sync it.
	if op.Rollback != nil {
		if err := r.pinForRollback(ctx, app, op.Rollback.ID); err != nil {
			reason := sollv1.ReasonSyncFailed
			if errors.Is(err, errNoHistoryEntry) {
				reason = sollv1.ReasonInvalidOperation
			}
			return r.finishOperation(ctx, app, state, reason, err.Error(), nil), nil
		}
		op.Sync = &sollv1.SyncOperation{Prune: true}
	}
	if op.Sync == nil {
		return r.finishOperation(ctx, app, state, sollv1.ReasonInvalidOperation, "operation has neither sync nor rollback", nil), nil
	}
	revisions := op.Sync.Revisions
	if len(revisions) == 0 && op.Sync.Revision != "" {
		revisions = []string{op.Sync.Revision}
	}
	if op.Rollback != nil || !c.Matches(revisions) {
		var err error
		if c, err = r.Pipeline.Compare(ctx, app, revisions); err != nil {
			return r.finishOperation(ctx, app, state, comparisonReason(err), err.Error(), nil), nil
		}
	}
	if !automated {
		// An automated sync's start is no news: its end is reported
		// (and costs the API server one event, not two, per sync).
		r.event(app, corev1.EventTypeNormal, "OperationStarted", "Sync", "sync to %s started by %s", appstate.Short(c.Revision()), who)
	}

	opts := r.engineOptions(app, op, c)
	// Progress is persisted when the engine starts waiting for a step (a
	// wave, its infrastructure) to become healthy, so users see what it
	// waits for, and when a hook finished, so a resumed operation never
	// runs a finished hook again; other reports at most every
	// progressInterval. Applies are idempotent, and an operation of one
	// step waits for nothing: it needs no write between start and end.
	lastProgress, hooksDone := time.Now(), 0
	opts.OnProgress = func(res syncengine.Result, waiting bool) {
		done := 0
		for _, o := range res.Objects {
			if o.Hook && (o.HookPhase == string(sollv1.HookPhaseSucceeded) || o.HookPhase == string(sollv1.HookPhaseFailed)) {
				done++
			}
		}
		if !waiting && done == hooksDone && time.Since(lastProgress) < progressInterval {
			return
		}
		lastProgress, hooksDone = time.Now(), done
		st := state.DeepCopy()
		st.SyncResult = syncResult(c.Revisions(), res)
		st.Message = fmt.Sprintf("%d objects done", len(res.Objects))
		// A failed write is retried with the next report; a resumed
		// operation may run a hook finished since the last write again.
		r.logStatusError(ctx, app, "operation progress", rec.write(ctx, st))
	}
	if resumed && state.SyncResult != nil {
		opts.DoneHooks = map[resource.Key]bool{}
		for _, rr := range state.SyncResult.Resources {
			if rr.HookPhase == sollv1.HookPhaseSucceeded {
				opts.DoneHooks[resource.Key{Group: rr.Group, Kind: rr.Kind, Namespace: rr.Namespace, Name: rr.Name}] = true
			}
		}
	}

	if createNamespace(app, op) && !opts.DryRun {
		if err := applyNamespace(ctx, c.Target, app); err != nil {
			return r.finishOperation(ctx, app, state, sollv1.ReasonSyncFailed, err.Error(), c), nil
		}
	}

	// The controller stopping (ctx ending) interrupts the operation, which
	// the next controller resumes: the engine must not take it for a
	// failure and run SyncFail hooks.
	runCtx, interrupt := context.WithCancelCause(context.WithoutCancel(ctx))
	defer interrupt(nil)
	defer context.AfterFunc(ctx, func() { interrupt(syncengine.ErrInterrupted) })()
	opCtx, cancel := context.WithTimeout(runCtx, operationTimeout(app))
	defer cancel()
	stopWatch := r.watchTerminate(opCtx, client.ObjectKeyFromObject(app), cancel)
	opts.OnApplied = c.Target.DryRuns.Seed
	engine := &syncengine.Engine{Kube: targetKube(c.Target), Health: c.HealthChecker()}
	if quiet {
		rec.after(ctx, r.QuietOperation, state.DeepCopy())
	}
	objs := c.Objects
	if op.Sync.SyncOptions != nil {
		// The operation's sync options replace the app's, adoptExisting
		// included.
		objs = c.ObjectsFor(op.Sync.SyncOptions)
	}
	res := engine.Sync(opCtx, objs, opts)
	stopWatch()
	rec.stop()
	if ctx.Err() != nil {
		// The controller is stopping: the operation was interrupted,
		// not failed. It stays Running, with the progress OnProgress
		// saved, for the next controller to resume.
		return nil, ctx.Err()
	}
	state.SyncResult = syncResult(c.Revisions(), res)

	if !res.Succeeded && opCtx.Err() == nil && retryAllowed(op, state) {
		state.RetryCount++
		state.Message = fmt.Sprintf("attempt %d failed: %s; retrying", state.RetryCount, res.Message)
		r.event(app, corev1.EventTypeWarning, "OperationRetrying", "Sync", "%s", state.Message)
		return nil, r.patchStatus(ctx, app, func(s *sollv1.ApplicationStatus) { s.OperationState = state.DeepCopy() })
	}
	msg, reason := res.Message, sollv1.ReasonSucceeded
	switch {
	case res.Succeeded:
	case errors.Is(opCtx.Err(), context.DeadlineExceeded):
		msg, reason = fmt.Sprintf("operation timed out after %s (spec.syncPolicy.operationTimeout): %s", operationTimeout(app), msg), sollv1.ReasonTimedOut
	case opCtx.Err() != nil:
		reason = sollv1.ReasonTerminated
	default:
		reason = sollv1.ReasonSyncFailed
	}
	return r.finishOperation(ctx, app, state, reason, msg, c), nil
}

// errClaimLost is runOperation's error when its claim of the operation
// met a newer version of the app: the reconcile looks again soon.
var errClaimLost = errors.New("operation not claimed")

// claimOperation writes st as app's operation state if app has not
// changed since it was read (optimistic concurrency): of two replicas that
// both take app for theirs during a handover, only one claims its
// operation; the other's claim fails with a conflict, and its next
// reconcile sees the claim.
func (r *Reconciler) claimOperation(ctx context.Context, app *sollv1.Application, st *sollv1.OperationState) error {
	orig := app.DeepCopy()
	app.Status.OperationState = st
	ctx, cancel := context.WithTimeout(ctx, r.StatusWriteTimeout)
	defer cancel()
	if err := r.Client.Status().Patch(ctx, app, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		app.Status = orig.Status
		return fmt.Errorf("claim the operation of application %s/%s: %w", app.Namespace, app.Name, err)
	}
	r.wrote(app)
	return nil
}

// takeOperation removes app's operation request (spec.operation), so that
// it runs once; nothing when there is none.
func (r *Reconciler) takeOperation(ctx context.Context, app *sollv1.Application) error {
	if app.Operation == nil {
		return nil
	}
	patch := client.RawPatch(types.MergePatchType, []byte(`{"operation":null}`))
	if err := r.patchApp(ctx, app, patch); err != nil {
		return fmt.Errorf("take operation of application %s/%s: %w", app.Namespace, app.Name, err)
	}
	return nil
}

// operationLog is the log of app's operation state: the reconcile's log
// (appLog), whose lines carry the app (namespace/name) and the trace, with
// the operation's id, the time it started
// (status.operationState.startedAt), which tells it apart from the app's
// other operations.
func (r *Reconciler) operationLog(ctx context.Context, app *sollv1.Application, state *sollv1.OperationState) *slog.Logger {
	return r.appLog(ctx, app).With("operation", operationID(state))
}

// operationID is the id of an operation in the logs.
func operationID(state *sollv1.OperationState) string {
	return state.StartedAt.UTC().Format(time.RFC3339)
}

// statusChange is a change of an Application's status, to be written with
// others in one patch.
type statusChange func(*sollv1.ApplicationStatus)

// finishOperation returns the status change that records the end of an
// operation, which succeeded when reason is ReasonSucceeded and failed for
// reason otherwise (a reason of ConditionOperationSucceeded), and on
// success a history entry; its event and metrics are recorded now.
func (r *Reconciler) finishOperation(ctx context.Context, app *sollv1.Application, state *sollv1.OperationState, reason, msg string, c *appstate.Comparison) statusChange {
	ok := reason == sollv1.ReasonSucceeded
	state = state.DeepCopy()
	now := metav1.Now()
	state.FinishedAt = &now
	state.Message = msg
	observeSync(ok, state.Operation.InitiatedBy != nil && state.Operation.InitiatedBy.Automated, state.StartedAt.Time)
	r.operationLog(ctx, app, state).Info("operation finished", "succeeded", ok, "reason", reason,
		"duration", now.Sub(state.StartedAt.Time).Round(time.Millisecond).String(), "message", msg)
	what := "operation"
	if c != nil {
		what = "sync to " + appstate.Short(c.Revision())
	}
	if ini := state.Operation.InitiatedBy; ini != nil && ini.Automated {
		what = "automated " + what
	} else if ini != nil && ini.Username != "" {
		what += " by " + ini.Username
	}
	if ok {
		state.Phase = sollv1.OperationSucceeded
		r.event(app, corev1.EventTypeNormal, "OperationCompleted", "Sync", "%s: %s", what, msg)
	} else {
		state.Phase = sollv1.OperationFailed
		if state.SyncResult == nil && c != nil {
			state.SyncResult = &sollv1.SyncOperationResult{Revisions: c.Revisions()}
		}
		r.event(app, corev1.EventTypeWarning, "OperationFailed", "Sync", "%s: %s", what, msg)
	}
	return func(s *sollv1.ApplicationStatus) {
		s.OperationState = state.DeepCopy()
		if ok && c != nil && !(state.Operation.Sync != nil && state.Operation.Sync.DryRun) {
			srcs, _ := appstate.Sources(app)
			var id int64
			if n := len(s.History); n > 0 {
				id = s.History[n-1].ID + 1
			}
			started := state.StartedAt
			commits, _ := sourceMetadata(c)
			s.History = append(s.History, sollv1.RevisionHistory{
				ID: id, Revisions: c.Revisions(), Sources: srcs,
				DeployStartedAt: &started, DeployedAt: now, InitiatedBy: state.Operation.InitiatedBy, Commits: commits,
			})
			limit := 10
			if app.Spec.RevisionHistoryLimit != nil {
				limit = int(*app.Spec.RevisionHistoryLimit)
			}
			if len(s.History) > limit {
				s.History = s.History[len(s.History)-limit:]
			}
		}
		status := metav1.ConditionFalse
		if ok {
			status = metav1.ConditionTrue
		}
		setCondition(s, app.Generation, sollv1.ConditionOperationSucceeded, status, reason, msg)
	}
}

// errNoHistoryEntry: a rollback names a history entry that is not in
// status.history.
var errNoHistoryEntry = errors.New("no history entry")

// pinForRollback pins the revision of history entry id in spec.pin, so
// automated sync keeps it until the user unpins.
func (r *Reconciler) pinForRollback(ctx context.Context, app *sollv1.Application, id int64) error {
	for _, h := range app.Status.History {
		if h.ID != id {
			continue
		}
		patch := client.MergeFrom(app.DeepCopy())
		app.Spec.Pin = &sollv1.RevisionPin{Revisions: h.Revisions, HistoryID: &id, Reason: fmt.Sprintf("rollback to history entry %d", id)}
		if err := r.patchApp(ctx, app, patch); err != nil {
			return fmt.Errorf("pin revision for rollback: %w", err)
		}
		return nil
	}
	return fmt.Errorf("rollback: %w with id %d: see status.history for the ids", errNoHistoryEntry, id)
}

func (r *Reconciler) engineOptions(app *sollv1.Application, op *sollv1.Operation, c *appstate.Comparison) syncengine.Options {
	var so sollv1.SyncOptions
	if app.Spec.SyncPolicy != nil && app.Spec.SyncPolicy.SyncOptions != nil {
		so = *app.Spec.SyncPolicy.SyncOptions
	}
	if op.Sync.SyncOptions != nil {
		so = *op.Sync.SyncOptions
	}
	opts := syncengine.Options{
		Prune:              op.Sync.Prune,
		ConfirmPrune:       op.Sync.ConfirmPrune,
		DryRun:             op.Sync.DryRun,
		ApplyOutOfSyncOnly: so.ApplyOutOfSyncOnly,
		PruneLast:          so.PruneLast,
		Replace:            so.Replace,
		AdoptExisting:      so.AdoptExisting,
		FailOnConflicts:    so.ForceConflicts != nil && !*so.ForceConflicts,
	}
	if so.RespectIgnoreDifferences {
		opts.KeepLive = c.KeepIgnored()
	}
	switch so.PrunePropagationPolicy {
	case sollv1.PropagationBackground:
		opts.PropagationPolicy = metav1.DeletePropagationBackground
	case sollv1.PropagationOrphan:
		opts.PropagationPolicy = metav1.DeletePropagationOrphan
	}
	for _, res := range op.Sync.Resources {
		ns := res.Namespace
		opts.Only = append(opts.Only, resource.Key{Group: res.Group, Kind: res.Kind, Namespace: ns, Name: res.Name})
	}
	return opts
}

func syncResult(revs []string, res syncengine.Result) *sollv1.SyncOperationResult {
	out := &sollv1.SyncOperationResult{Revisions: revs}
	for _, o := range res.Objects {
		rr := sollv1.ResourceResult{
			Group: o.Key.Group, Version: o.Version, Kind: o.Key.Kind, Namespace: o.Key.Namespace, Name: o.Key.Name,
			Status: sollv1.ResultCode(o.Status), Message: o.Message, SyncPhase: sollv1.SyncPhase(o.Phase), SyncWave: int32(o.Wave),
		}
		if o.Hook {
			rr.HookType = sollv1.HookType(o.Phase)
			rr.HookPhase = sollv1.HookPhase(o.HookPhase)
		}
		out.Resources = append(out.Resources, rr)
	}
	return out
}

// retryAllowed reports whether a failed attempt may be retried.
func retryAllowed(op *sollv1.Operation, state *sollv1.OperationState) bool {
	return op.Retry != nil && op.Retry.Limit != nil && state.RetryCount < *op.Retry.Limit
}

// retryDelay is the backoff before the next attempt: duration *
// factor^(attempt-1), capped at maxDuration.
func retryDelay(app *sollv1.Application, st *sollv1.OperationState) time.Duration {
	d, factor, maxD := 5*time.Second, 2.0, 3*time.Minute
	if rs := st.Operation.Retry; rs != nil && rs.Backoff != nil {
		if rs.Backoff.Duration != nil {
			d = rs.Backoff.Duration.Duration
		}
		if rs.Backoff.Factor != nil {
			factor = float64(*rs.Backoff.Factor)
		}
		if rs.Backoff.MaxDuration != nil {
			maxD = rs.Backoff.MaxDuration.Duration
		}
	}
	delay := time.Duration(float64(d) * math.Pow(factor, float64(max(st.RetryCount-1, 0))))
	return min(delay, maxD)
}

// watchTerminate cancels the operation when a user sets the operation's
// phase to Terminating. It returns a function that stops watching.
func (r *Reconciler) watchTerminate(ctx context.Context, key client.ObjectKey, cancel context.CancelFunc) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				var app sollv1.Application
				if err := r.Client.Get(ctx, key, &app); err != nil {
					continue
				}
				if st := app.Status.OperationState; st != nil && st.Phase == sollv1.OperationTerminating {
					cancel()
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

func createNamespace(app *sollv1.Application, op *sollv1.Operation) bool {
	if op.Sync != nil && op.Sync.SyncOptions != nil {
		return op.Sync.SyncOptions.CreateNamespace
	}
	p := app.Spec.SyncPolicy
	return p != nil && p.SyncOptions != nil && p.SyncOptions.CreateNamespace
}

// applyNamespace applies the destination namespace (CreateNamespace sync
// option) with the managed namespace metadata. The namespace is not part
// of the app's inventory, so it is never pruned with the app.
func applyNamespace(ctx context.Context, t *appstate.Target, app *sollv1.Application) error {
	name := app.Spec.Destination.Namespace
	if name == "" {
		return nil
	}
	if !t.ClusterScoped {
		return fmt.Errorf("create namespace %s (syncOptions.createNamespace): cluster %s does not let soll create cluster-scoped objects such as Namespaces (spec.clusterResources of Cluster %s): create the namespace there yourself and turn createNamespace off, or ask an admin to allow cluster resources", name, t.Name, t.Name)
	}
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(name)
	if p := app.Spec.SyncPolicy; p != nil && p.ManagedNamespaceMetadata != nil {
		md := p.ManagedNamespaceMetadata
		ns.SetLabels(md.Labels)
		ns.SetAnnotations(md.Annotations)
	}
	if _, err := t.Kube.Apply(ctx, ns, false); err != nil {
		return fmt.Errorf("create namespace %s (syncOptions.createNamespace): %w", name, err)
	}
	return nil
}
