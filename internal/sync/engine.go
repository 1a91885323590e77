package sync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/health"
	"soll.dev/internal/resource"
)

// Kube is what the engine needs from the cluster.
type Kube interface {
	// Apply applies obj server-side, taking over the fields other
	// field managers set.
	Apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error)
	// ApplyNoForce applies obj server-side without taking over fields:
	// a field another manager set to another value is a conflict, an
	// error for which apierrors.IsConflict holds, with a cause per field.
	ApplyNoForce(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error)
	Create(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error)
	Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error)
	Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, policy metav1.DeletionPropagation, uid string) error
	// List returns the objects of gvk in namespace that match the label
	// selector.
	List(ctx context.Context, gvk schema.GroupVersionKind, namespace, selector string) ([]unstructured.Unstructured, error)
}

// LiveKeeper says which fields of an object an apply leaves as they are
// in the cluster (syncOptions.respectIgnoreDifferences): KeepLive returns
// desired with those fields set to their values in live.
type LiveKeeper interface {
	KeepLive(ctx context.Context, k resource.Key, live, desired *unstructured.Unstructured) (*unstructured.Unstructured, error)
}

// HealthChecker assesses live objects.
type HealthChecker interface {
	Check(obj *unstructured.Unstructured) (health.Result, error)
}

// Engine runs sync operations.
type Engine struct {
	Kube   Kube
	Health HealthChecker
}

// Object is one object of the app: desired (from Git), live (from the
// cluster), or both. An object with no desired state is a prune candidate.
type Object struct {
	Desired *unstructured.Unstructured
	Live    *unstructured.Unstructured
	// InSync is the diff's verdict; with ApplyOutOfSyncOnly, objects in
	// sync are not applied again.
	InSync bool
	// Conflict, when set, says why the object must not be applied: it
	// belongs to someone else (another Application). An operation that
	// includes such an object fails before applying anything, with this
	// message on the object, rather than taking the object over.
	Conflict string
}

func (o Object) key() resource.Key {
	if o.Desired != nil {
		return resource.KeyOf(o.Desired)
	}
	return resource.KeyOf(o.Live)
}

// Options control one sync operation.
type Options struct {
	// Prune deletes live objects that are no longer desired.
	Prune bool
	// ConfirmPrune confirms pruning the objects whose sync options ask for
	// it (Prune=confirm); without it they are skipped.
	ConfirmPrune bool
	// DryRun validates every apply with the API server and changes nothing.
	DryRun bool
	// ApplyOutOfSyncOnly skips objects whose diff says they are in sync.
	ApplyOutOfSyncOnly bool
	// PruneLast prunes after every wave has been applied and is healthy,
	// instead of after the wave each pruned object belonged to.
	PruneLast bool
	// Replace deletes and recreates an object when an immutable field
	// changed and apply is refused.
	Replace bool
	// FailOnConflicts applies without taking over fields that other
	// field managers set (syncOptions.forceConflicts: false): such a
	// field fails the object's apply, naming the managers and fields.
	FailOnConflicts bool
	// KeepLive, when set, gives the fields it names their live value in
	// every object applied (not hooks), read from the cluster right
	// before the apply (syncOptions.respectIgnoreDifferences).
	KeepLive LiveKeeper
	// AdoptExisting lets hooks replace existing objects of their names
	// that soll did not create (objects of the sync proper are checked by
	// the caller, see Object.Conflict).
	AdoptExisting bool
	// PropagationPolicy is used for prunes; empty means foreground.
	PropagationPolicy metav1.DeletionPropagation
	// Only restricts the operation to these objects (selective sync).
	// Hooks do not run in a selective sync.
	Only []resource.Key
	// WaveTimeout bounds the wait for one wave to become healthy; 0 means
	// 5 minutes.
	WaveTimeout time.Duration
	// Concurrency bounds parallel applies within a wave; 0 means 16.
	Concurrency int
	// DoneHooks are hooks that completed in an earlier attempt of this
	// operation (before a controller restart); they are not run again. A
	// hook named by generateName is there under the name its run got.
	DoneHooks map[resource.Key]bool
	// OnProgress, when set, receives the results so far after each step's
	// applies and after each wait, so the caller can persist them;
	// waiting says the engine now waits for the step's objects to become
	// healthy (or its hooks to complete). It is not called after the
	// applies of a last step that waits for nothing: the operation ends
	// there, and Sync returns the same results.
	OnProgress func(res Result, waiting bool)
	// OnApplied, when set, receives each object applied for real (not
	// hooks, not in a dry run) with the API server's answer: the live
	// object right after the apply.
	OnApplied func(desired, applied *unstructured.Unstructured)
}

// Result codes of one object.
const (
	ResultSynced       = "Synced"
	ResultSyncFailed   = "SyncFailed"
	ResultPruned       = "Pruned"
	ResultPruneSkipped = "PruneSkipped"
)

// ObjectResult says what the operation did to one object.
type ObjectResult struct {
	Key       resource.Key
	Version   string
	Status    string
	Message   string
	Phase     Phase
	Wave      int
	Hook      bool
	HookPhase string // Running, Succeeded, Failed for hooks
}

// Result is the outcome of an operation.
type Result struct {
	// Succeeded is true when every step succeeded.
	Succeeded bool
	// Message summarises the outcome or names the first failure.
	Message string
	Objects []ObjectResult
}

// task is one unit of work: an apply, a hook, or a prune.
type task struct {
	obj   Object
	key   resource.Key
	phase Phase
	wave  int
	hook  bool
	prune bool
}

type run struct {
	e    *Engine
	kube Kube // e.Kube, retrying transient failures
	opts Options
	// deletion is the deletion phase whose hooks RunHooks runs; empty in
	// a sync.
	deletion Phase
	mu       sync.Mutex
	res      Result
}

// ErrInterrupted, as the cause of the cancellation of Sync's context
// (context.WithCancelCause), says that the operation is interrupted, not
// failed: its caller is going away (a controller shutting down) and will
// run it again. SyncFail hooks do not run then.
var ErrInterrupted = errors.New("operation interrupted")

// Sync runs one operation: PreSync hooks, then the Sync phase wave by wave
// (each wave applied, then awaited until healthy), prunes, then PostSync
// hooks; on failure, SyncFail hooks. It stops at the first failure and when
// ctx ends (terminate, or an interruption: see ErrInterrupted).
func (e *Engine) Sync(ctx context.Context, objs []Object, opts Options) Result {
	r := e.newRun(opts, "")
	failHooks, msg := r.planAndExecute(ctx, objs)
	if msg != "" {
		if len(failHooks) > 0 && !opts.DryRun && !errors.Is(context.Cause(ctx), ErrInterrupted) {
			// SyncFail hooks get their own time: the operation's
			// context may be the reason we failed.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.WaveTimeout)
			if ferr := r.execute(fctx, failHooks); ferr != nil {
				msg += "; SyncFail hook failed: " + ferr.Error()
			}
			cancel()
		}
		r.res.Message = msg
		return r.res
	}
	r.res.Succeeded = true
	if opts.DryRun {
		r.res.Message = fmt.Sprintf("dry run: %d objects would be applied or pruned", len(r.res.Objects))
	} else {
		r.res.Message = fmt.Sprintf("successfully synced %d objects", len(r.res.Objects))
	}
	return r.res
}

// RunHooks runs the hooks of phase, PreDelete or PostDelete, among objs
// (their desired objects; everything else is left alone), wave by wave as
// a sync runs one of its phases: each wave's hooks are created
// (BeforeHookCreation honoured), awaited until complete, and deleted as
// their delete policies say. It stops at the first failure. Hooks of these
// phases never run in a Sync: the caller runs them when the Application is
// deleted with its objects.
func (e *Engine) RunHooks(ctx context.Context, objs []Object, phase Phase, opts Options) Result {
	if !phase.Deletion() {
		return Result{Message: fmt.Sprintf("%s is not a phase of deletion: use PreDelete or PostDelete", phase)}
	}
	var hooks []Object
	for _, o := range objs {
		if o.Desired != nil && IsDeletionHook(o.Desired, phase) {
			hooks = append(hooks, Object{Desired: o.Desired})
		}
	}
	r := e.newRun(opts, phase)
	if _, msg := r.planAndExecute(ctx, hooks); msg != "" {
		r.res.Message = fmt.Sprintf("%s hook failed: %s", phase, msg)
		return r.res
	}
	r.res.Succeeded = true
	r.res.Message = fmt.Sprintf("%d %s hooks succeeded", len(r.res.Objects), phase)
	if opts.DryRun {
		r.res.Message = fmt.Sprintf("dry run: %d %s hooks are valid", len(r.res.Objects), phase)
	}
	return r.res
}

// planAndExecute plans objs and runs the plan's tasks, SyncFail hooks
// apart: it returns them for the caller to run on failure. msg is empty
// when everything succeeded, else it says what failed first (and that the
// operation was terminated, when ctx ended).
func (r *run) planAndExecute(ctx context.Context, objs []Object) (failHooks []task, msg string) {
	tasks, failHooks, err := r.plan(objs)
	if err != nil {
		return nil, err.Error()
	}
	if err := r.execute(ctx, tasks); err != nil {
		if ctx.Err() != nil {
			return failHooks, "operation terminated: " + err.Error()
		}
		return failHooks, err.Error()
	}
	return nil, ""
}

// newRun starts a run of opts, defaults filled in; deletion, when set,
// is the deletion phase whose hooks the run runs (RunHooks), else the run
// is a sync.
func (e *Engine) newRun(opts Options, deletion Phase) *run {
	r := &run{e: e, kube: retryingKube{e.Kube}, opts: opts, deletion: deletion}
	if r.opts.WaveTimeout == 0 {
		r.opts.WaveTimeout = 5 * time.Minute
	}
	if r.opts.Concurrency == 0 {
		r.opts.Concurrency = 16
	}
	if r.opts.PropagationPolicy == "" {
		r.opts.PropagationPolicy = metav1.DeletePropagationForeground
	}
	return r
}

// runs reports whether the run runs hooks of phase p: a sync runs those
// of the sync phases, RunHooks those of its deletion phase.
func (r *run) runs(p Phase) bool {
	if r.deletion == "" {
		return !p.Deletion()
	}
	return p == r.deletion
}

// plan classifies the objects into ordered tasks. Objects in conflict are
// recorded as failed and fail the plan.
func (r *run) plan(objs []Object) (tasks, failHooks []task, err error) {
	selective := len(r.opts.Only) > 0
	var conflicts []string
	for _, o := range objs {
		t := task{obj: o, key: o.key(), phase: PhaseSync}
		if selective && !slices.Contains(r.opts.Only, t.key) {
			continue
		}
		if o.Conflict != "" && o.Desired != nil {
			w, _ := Wave(o.Desired)
			r.record(ObjectResult{Key: t.key, Version: o.Desired.GroupVersionKind().Version, Status: ResultSyncFailed, Message: o.Conflict, Phase: PhaseSync, Wave: w})
			conflicts = append(conflicts, o.Conflict)
			continue
		}
		src := o.Desired
		if src == nil {
			src = o.Live
			t.prune = true
		}
		if t.wave, err = Wave(src); err != nil {
			return nil, nil, err
		}
		if t.prune {
			if objectOptionIs(o.Live, "PruneLast", "true", r.opts.PruneLast) {
				t.wave = 1 << 30
			}
			tasks = append(tasks, t)
			continue
		}
		phases, skip, err := HookPhases(o.Desired)
		if err != nil {
			return nil, nil, err
		}
		if skip {
			continue
		}
		if len(phases) == 0 {
			if r.opts.ApplyOutOfSyncOnly && o.InSync {
				continue
			}
			tasks = append(tasks, t)
			continue
		}
		if selective || r.hookDone(t.key) {
			continue
		}
		for _, p := range phases {
			if !r.runs(p) {
				continue
			}
			ht := t
			ht.phase, ht.hook = p, true
			if p == PhaseSyncFail {
				failHooks = append(failHooks, ht)
			} else {
				tasks = append(tasks, ht)
			}
		}
	}
	if len(conflicts) > 0 {
		return nil, nil, fmt.Errorf("nothing was applied: %s", strings.Join(conflicts, "; "))
	}
	// A run of deletion hooks has one phase: their rank does not matter.
	phaseRank := map[Phase]int{PhasePreSync: 0, PhaseSync: 1, PhasePostSync: 2, PhaseSyncFail: 3}
	order := func(a, b task) int {
		return cmp.Or(
			cmp.Compare(phaseRank[a.phase], phaseRank[b.phase]),
			cmp.Compare(a.wave, b.wave),
			// Within a wave: applies before prunes, then by kind.
			cmp.Compare(boolRank(a.prune), boolRank(b.prune)),
			cmp.Compare(kindRank(a.key.Kind), kindRank(b.key.Kind)),
			resource.Compare(a.key, b.key),
		)
	}
	slices.SortStableFunc(tasks, order)
	slices.SortStableFunc(failHooks, order)
	return tasks, failHooks, nil
}

// hookDone reports whether the hook of key k completed in an earlier
// attempt of this operation. The run of a hook named by generateName is
// recorded under the name the API server gave it.
func (r *run) hookDone(k resource.Key) bool {
	if r.opts.DoneHooks[k] {
		return true
	}
	if _, generated := k.GenerateName(); !generated {
		return false
	}
	for done := range r.opts.DoneHooks {
		if k.Names(done) {
			return true
		}
	}
	return false
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// execute runs tasks step by step: a step is all tasks of one phase and
// wave; infrastructure (namespaces, CRDs) of a wave goes first as its own
// step so custom resources and namespaced objects find them.
func (r *run) execute(ctx context.Context, tasks []task) error {
	for len(tasks) > 0 {
		n := 1
		for n < len(tasks) && tasks[n].phase == tasks[0].phase && tasks[n].wave == tasks[0].wave {
			n++
		}
		step := tasks[:n]
		tasks = tasks[n:]
		var infra, rest []task
		for _, t := range step {
			if isInfrastructure(t.key) && !t.prune {
				infra = append(infra, t)
			} else {
				rest = append(rest, t)
			}
		}
		for gi, group := range [][]task{infra, rest} {
			if len(group) == 0 {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			// Health is awaited before the next step; after the last
			// one only hooks are awaited (health is the app's
			// status, not the operation's job).
			last := len(tasks) == 0 && (gi == 1 || len(rest) == 0)
			if err := r.runStep(ctx, group, last); err != nil {
				return err
			}
		}
	}
	return nil
}

// runStep applies (or prunes) a group in parallel, then waits until all of
// it is healthy (hooks: completed).
func (r *run) runStep(ctx context.Context, group []task, last bool) error {
	sem := make(chan struct{}, r.opts.Concurrency)
	var wg sync.WaitGroup
	applied := make([]*unstructured.Unstructured, len(group))
	errs := make([]error, len(group))
	for i, t := range group {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			applied[i], errs[i] = r.runTask(ctx, t)
		}()
	}
	wg.Wait()
	err := errors.Join(errs...)
	waiting := err == nil && !r.opts.DryRun && awaits(group, applied, last)
	if err != nil || !last || waiting {
		// A last step that waits for nothing ends the operation
		// right here: its result is the operation's, and a report
		// now would only cost the caller a write.
		r.progress(waiting)
	}
	if err != nil {
		return err
	}
	if r.opts.DryRun {
		return nil
	}
	return r.waitHealthy(ctx, group, applied, last)
}

func (r *run) record(or ObjectResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.res.Objects {
		o := &r.res.Objects[i]
		if o.Key == or.Key && o.Phase == or.Phase {
			*o = or
			return
		}
	}
	r.res.Objects = append(r.res.Objects, or)
}

func (r *run) progress(waiting bool) {
	if r.opts.OnProgress == nil {
		return
	}
	r.mu.Lock()
	snapshot := Result{Succeeded: r.res.Succeeded, Message: r.res.Message, Objects: slices.Clone(r.res.Objects)}
	r.mu.Unlock()
	r.opts.OnProgress(snapshot, waiting)
}

func (r *run) runTask(ctx context.Context, t task) (*unstructured.Unstructured, error) {
	or := ObjectResult{Key: t.key, Phase: t.phase, Wave: t.wave, Hook: t.hook}
	if t.prune {
		or.Version = t.obj.Live.GroupVersionKind().Version
		switch prune, _ := ObjectSyncOption(t.obj.Live, "Prune"); {
		case !r.opts.Prune || prune == "false":
			or.Status, or.Message = ResultPruneSkipped, "pruning disabled: delete it by hand or enable prune"
			r.record(or)
			return nil, nil
		case prune == "confirm" && !r.opts.ConfirmPrune:
			or.Status, or.Message = ResultPruneSkipped, "waiting for confirmation (sync option Prune=confirm): sync with confirmPrune to delete it"
			r.record(or)
			return nil, nil
		}
		if r.opts.DryRun {
			or.Status, or.Message = ResultPruned, "would be pruned (dry run)"
			r.record(or)
			return nil, nil
		}
		live := t.obj.Live
		err := r.kube.Delete(ctx, live.GroupVersionKind(), live.GetNamespace(), live.GetName(), r.opts.PropagationPolicy, string(live.GetUID()))
		if err != nil {
			or.Status, or.Message = ResultSyncFailed, "prune: "+err.Error()
			r.record(or)
			return nil, fmt.Errorf("prune %s: %w", t.key, err)
		}
		or.Status, or.Message = ResultPruned, "pruned"
		r.record(or)
		return nil, nil
	}

	desired := t.obj.Desired
	or.Version = desired.GroupVersionKind().Version
	var applied *unstructured.Unstructured
	var err error
	if t.hook {
		or.HookPhase = "Running"
		applied, err = r.runHook(ctx, desired)
	} else {
		if desired, err = r.keepLive(ctx, t); err == nil {
			applied, err = r.apply(ctx, desired)
		}
		if err == nil && applied != nil && !r.opts.DryRun && r.opts.OnApplied != nil {
			r.opts.OnApplied(desired, applied)
		}
	}
	if err != nil {
		or.Status, or.Message = ResultSyncFailed, err.Error()
		if t.hook {
			or.HookPhase = "Failed"
		}
		r.record(or)
		return nil, fmt.Errorf("%s: %w", t.key, err)
	}
	if t.hook && applied != nil {
		or.Key = resource.KeyOf(applied) // generateName: the real name
	}
	or.Status = ResultSynced
	if r.opts.DryRun {
		or.Message = "valid (dry run)"
	} else {
		or.Message = "applied"
	}
	r.record(or)
	return applied, nil
}

// keepLive returns the object t applies: its desired state, with the
// fields opts.KeepLive names at their live values. The live object is read
// now rather than taken from the comparison, so that a value another
// controller set since (an autoscaler's replicas) is kept too; an object
// not in the cluster yet gets its desired values.
func (r *run) keepLive(ctx context.Context, t task) (*unstructured.Unstructured, error) {
	desired := t.obj.Desired
	if r.opts.KeepLive == nil {
		return desired, nil
	}
	live, err := r.kube.Get(ctx, desired.GroupVersionKind(), desired.GetNamespace(), desired.GetName())
	if meta.IsNoMatchError(err) {
		return desired, nil // its CRD is not installed yet: no live object
	}
	if err != nil {
		return nil, fmt.Errorf("read the live object, whose ignored fields the apply keeps (respectIgnoreDifferences): %w", err)
	}
	if live == nil {
		return desired, nil
	}
	return r.opts.KeepLive.KeepLive(ctx, t.key, live, desired)
}

// applyObj applies obj, taking over the fields of other field managers
// unless opts.FailOnConflicts.
func (r *run) applyObj(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	if !r.opts.FailOnConflicts {
		return r.kube.Apply(ctx, obj, dryRun)
	}
	out, err := r.kube.ApplyNoForce(ctx, obj, dryRun)
	if err != nil {
		return nil, conflictError(err)
	}
	return out, nil
}

// fieldConflict is the error of an apply that met fields other field
// managers set, when soll does not take them over.
type fieldConflict struct {
	msg string
	err error // the API server's
}

func (e *fieldConflict) Error() string { return e.msg }
func (e *fieldConflict) Unwrap() error { return e.err }

// conflictError rewrites the API server's answer to an apply that met
// fields of other field managers (409 Conflict, one cause per field such
// as `conflict with "kubectl-edit" using apps/v1` at .spec.replicas) as one
// sentence naming each manager with its fields, and what to do. Other
// errors are returned as they are.
func conflictError(err error) error {
	var status apierrors.APIStatus
	if !apierrors.IsConflict(err) || !errors.As(err, &status) || status.Status().Details == nil {
		return err
	}
	var managers []string
	fields := map[string][]string{}
	for _, c := range status.Status().Details.Causes {
		if c.Type != metav1.CauseTypeFieldManagerConflict {
			continue
		}
		m := c.Message
		if _, rest, ok := strings.Cut(m, `"`); ok {
			if name, _, ok := strings.Cut(rest, `"`); ok {
				m = name
			}
		}
		if _, seen := fields[m]; !seen {
			managers = append(managers, m)
		}
		fields[m] = append(fields[m], c.Field)
	}
	if len(managers) == 0 {
		return err
	}
	parts := make([]string, len(managers))
	for i, m := range managers {
		parts[i] = fmt.Sprintf("%s (field manager %q)", strings.Join(fields[m], ", "), m)
	}
	return &fieldConflict{err: err, msg: fmt.Sprintf("fields set by other field managers: %s: soll does not take them over, "+
		"since spec.syncPolicy.syncOptions.forceConflicts is false: remove the fields from the sources, let soll take them over "+
		"(forceConflicts: true), or leave them to the other managers (ignoreDifferences with respectIgnoreDifferences)", strings.Join(parts, "; "))}
}

func (r *run) apply(ctx context.Context, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	applied, err := r.applyObj(ctx, desired, r.opts.DryRun)
	if err == nil {
		return applied, nil
	}
	// Argo CD's Force=true recreates an object it cannot apply; soll
	// does so for the reason apply fails that a recreate cures, an
	// immutable field, as with Replace=true.
	replace := objectOptionIs(desired, "Replace", "true", r.opts.Replace) || objectOptionIs(desired, "Force", "true", false)
	if replace && apierrors.IsInvalid(err) && strings.Contains(err.Error(), "immutable") && !r.opts.DryRun {
		// Immutable field changed: delete, wait until gone, recreate.
		gvk := desired.GroupVersionKind()
		if derr := r.kube.Delete(ctx, gvk, desired.GetNamespace(), desired.GetName(), metav1.DeletePropagationForeground, ""); derr != nil {
			return nil, fmt.Errorf("replace: delete: %w", derr)
		}
		if werr := poll(ctx, r.opts.WaveTimeout, func() (bool, error) {
			live, err := r.kube.Get(ctx, gvk, desired.GetNamespace(), desired.GetName())
			return live == nil, err
		}); werr != nil {
			return nil, fmt.Errorf("replace: waiting for deletion: %w", werr)
		}
		return r.applyObj(ctx, desired, false)
	}
	return nil, err
}

// adopts reports whether an existing object of obj's name that soll did
// not create may be taken over: obj's AdoptExisting sync option, else the
// operation's.
func (r *run) adopts(obj *unstructured.Unstructured) bool {
	return objectOptionIs(obj, "AdoptExisting", "true", r.opts.AdoptExisting)
}

// runHook creates a hook object, honouring BeforeHookCreation (implied
// for deletion hooks).
func (r *run) runHook(ctx context.Context, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	policies, err := HookDeletePolicies(desired)
	if err != nil {
		return nil, err
	}
	if r.opts.DryRun {
		if desired.GetName() == "" {
			return desired, nil
		}
		return r.applyObj(ctx, desired, true)
	}
	gvk := desired.GroupVersionKind()
	if desired.GetName() == "" {
		if slices.Contains(policies, BeforeHookCreation) {
			if err := r.deleteEarlierRuns(ctx, desired); err != nil {
				return nil, err
			}
		}
		return r.kube.Create(ctx, desired)
	}
	// An object of the hook's name that an earlier run of this hook did
	// not leave (its tracking annotation differs) is someone else's: it is
	// neither deleted nor overwritten without consent.
	live, err := r.kube.Get(ctx, gvk, desired.GetNamespace(), desired.GetName())
	if err != nil {
		return nil, err
	}
	if live != nil && live.GetAnnotations()[resource.TrackingAnnotation] != desired.GetAnnotations()[resource.TrackingAnnotation] && !r.adopts(desired) {
		return nil, fmt.Errorf("%s exists in the cluster and this hook did not create it: soll does not replace it unless asked: rename the hook, delete the object, or adopt it (syncOptions.adoptExisting, or %s: AdoptExisting=true on the hook)",
			resource.KeyOf(desired), syncOptionsAnnotations[0])
	}
	// A deletion hook is retried until it succeeds: every attempt is a
	// new run, whatever the hook's policies say (a failed Job applied
	// again stays failed, and its template cannot change).
	if slices.Contains(policies, BeforeHookCreation) || r.deletion != "" {
		if err := r.kube.Delete(ctx, gvk, desired.GetNamespace(), desired.GetName(), metav1.DeletePropagationForeground, ""); err != nil {
			return nil, fmt.Errorf("delete previous hook: %w", err)
		}
		if err := poll(ctx, r.opts.WaveTimeout, func() (bool, error) {
			live, err := r.kube.Get(ctx, gvk, desired.GetNamespace(), desired.GetName())
			return live == nil, err
		}); err != nil {
			return nil, fmt.Errorf("waiting for previous hook to go: %w", err)
		}
	}
	return r.applyObj(ctx, desired, false)
}

// deleteEarlierRuns deletes the objects that earlier runs of desired, a
// hook named by generateName, created: those of its kind and namespace
// that carry its tracking annotation. Each run has a name of its own, so
// the new one need not wait for them to go.
func (r *run) deleteEarlierRuns(ctx context.Context, desired *unstructured.Unstructured) error {
	id, ok := desired.GetAnnotations()[resource.TrackingAnnotation]
	if !ok {
		return nil // not tracked: its runs cannot be told from other objects
	}
	gvk := desired.GroupVersionKind()
	earlier, err := r.kube.List(ctx, gvk, desired.GetNamespace(), sollv1.ManagedLabel+"=true")
	if err != nil {
		return fmt.Errorf("list earlier runs of the hook: %w", err)
	}
	for _, e := range earlier {
		if e.GetAnnotations()[resource.TrackingAnnotation] != id || e.GetDeletionTimestamp() != nil {
			continue
		}
		if err := r.kube.Delete(ctx, gvk, e.GetNamespace(), e.GetName(), metav1.DeletePropagationBackground, string(e.GetUID())); err != nil {
			return fmt.Errorf("delete earlier run %s of the hook: %w", e.GetName(), err)
		}
	}
	return nil
}
