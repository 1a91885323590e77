package diff

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/pmezard/go-difflib/difflib"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"soll.dev/internal/resource"
)

// Status is the sync status of one object.
type Status string

const (
	// Synced: the live object already is what applying the desired one
	// would make it.
	Synced Status = "Synced"
	// OutOfSync: applying the desired object would change the live one.
	OutOfSync Status = "OutOfSync"
	// Missing: the desired object does not exist in the cluster.
	Missing Status = "Missing"
	// Extraneous: the object is live and managed by the app but no longer
	// desired; a prune would delete it.
	Extraneous Status = "Extraneous"
)

// Drift is one field whose live value differs from the desired one.
type Drift struct {
	// Path is the field, such as spec.replicas.
	Path string `json:"path"`
	// Manager is the field manager that last set the live value, if known.
	Manager string `json:"manager,omitempty"`
}

func (d Drift) String() string {
	if d.Manager == "" {
		return d.Path + " differs"
	}
	return d.Path + " changed by " + d.Manager
}

// Result is the comparison of one object.
type Result struct {
	Key    resource.Key
	Status Status
	// Live is the live object (nil when Missing).
	Live *unstructured.Unstructured
	// Target is what the live object would be after applying the desired
	// one, as the API server computed it in a dry run (the desired object
	// itself when a dry run was not possible, e.g. its namespace or CRD is
	// not there yet).
	Target *unstructured.Unstructured
	// Diff is a unified diff of the normalized live and target objects,
	// with Secret values redacted.
	Diff string
	// Drift lists the differing fields with the manager that set each.
	Drift []Drift
	// Err is set when the dry run failed for a reason other than a missing
	// namespace or kind; the object counts as OutOfSync.
	Err error
}

// Kube is what the differ needs from the cluster.
type Kube interface {
	Apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error)
}

// Differ compares desired objects with the cluster.
type Differ struct {
	Kube Kube
	// Ignore holds the ignore rules; nil ignores nothing.
	Ignore *Ignorer
	// Concurrency bounds parallel dry runs; 0 means 16.
	Concurrency int
	// Cache, when set, reuses dry-run answers while neither the desired
	// nor the live object changed.
	Cache *DryRunCache
	// Mask, when set, masks the values that came out of SOPS-encrypted
	// files in every diff, wherever they are (see Masker).
	Mask *Masker
	// Reread, when set, reads the live object again. It is used when the
	// dry run saw a newer version of the object than the caller's live
	// copy (another controller wrote in between), so both sides of the
	// comparison describe the same version.
	Reread func(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error)
}

// Item is one desired object and its live counterpart (nil if absent).
type Item struct {
	Desired *unstructured.Unstructured
	Live    *unstructured.Unstructured
}

// Diff compares each item by a server-side-apply dry run of the desired
// object, so API defaults and mutating webhooks never count as drift.
// Results come back in the order of items.
func (d *Differ) Diff(ctx context.Context, items []Item) []Result {
	n := d.Concurrency
	if n <= 0 {
		n = 16
	}
	results := make([]Result, len(items))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = d.diffOne(ctx, it)
		}()
	}
	wg.Wait()
	return results
}

// rereadAttempts bounds how often one comparison rereads an object that
// keeps changing under it.
const rereadAttempts = 3

func (d *Differ) diffOne(ctx context.Context, it Item) Result {
	res := d.diffOnce(ctx, it)
	// Another controller may write between the reread and the next dry
	// run (the Deployment controller sets its revision annotation right
	// after a template change), so a few attempts are allowed.
	for attempt := 0; attempt < rereadAttempts && d.Reread != nil && staleLive(res); attempt++ {
		live, err := d.Reread(ctx, it.Desired)
		if err != nil || live == nil {
			break
		}
		it.Live = live
		res = d.diffOnce(ctx, it)
	}
	return res
}

// staleLive reports whether the dry run saw a newer version of the object
// than the live copy it is compared with.
func staleLive(res Result) bool {
	return res.Err == nil && res.Live != nil && res.Target != nil &&
		res.Target.GetResourceVersion() != "" && res.Target.GetResourceVersion() != res.Live.GetResourceVersion()
}

func (d *Differ) diffOnce(ctx context.Context, it Item) Result {
	k := resource.KeyOf(it.Desired)
	res := Result{Key: k, Live: it.Live}
	if it.Live == nil {
		// Missing: whatever the API server would default, the object
		// must be created. The sync validates it when it applies it;
		// a dry run here would double the API calls of a first sync.
		res.Target = it.Desired
		_ = compare(ctx, &res, d.Ignore, d.Mask)
		return res
	}
	target, hash, hit := d.Cache.get(k, it.Desired, it.Live)
	var err error
	if !hit {
		target, err = d.Kube.Apply(ctx, it.Desired, true)
		if err == nil {
			d.Cache.put(k, hash, it.Live, target, false)
		}
	}
	if err != nil {
		// Without its namespace or kind the object cannot be dry-run;
		// it is then certainly not in sync, and the desired object is
		// the best prediction.
		if !(apierrors.IsNotFound(err) || meta.IsNoMatchError(err)) || it.Live != nil {
			res.Err = fmt.Errorf("dry-run apply of %s: %w", k, err)
		}
		target = it.Desired
	}
	res.Target = target
	if err := compare(ctx, &res, d.Ignore, d.Mask); err != nil && res.Err == nil {
		res.Err = err
	}
	return res
}

// Compare fills in Status, Diff and Drift of res from res.Live and
// res.Target.
func Compare(ctx context.Context, res *Result, ig *Ignorer) error {
	return compare(ctx, res, ig, nil)
}

// compare is Compare with the diff masked by m.
func compare(ctx context.Context, res *Result, ig *Ignorer, m *Masker) error {
	if res.Live == nil {
		res.Status = Missing
		res.Diff = unified(nil, Normalize(res.Target), m)
		return nil
	}
	if res.Target == nil {
		res.Status = Extraneous
		res.Diff = unified(Normalize(res.Live), nil, m)
		return nil
	}
	live, target := Normalize(res.Live), Normalize(res.Target)
	if err := ig.Apply(ctx, res.Key, res.Live, live, target); err != nil {
		return err
	}
	if reflect.DeepEqual(live.Object, target.Object) && res.Err == nil {
		res.Status = Synced
		return nil
	}
	res.Status = OutOfSync
	var paths []fieldPath
	changedPaths(live.Object, target.Object, nil, &paths)
	entries := managedEntries(res.Live)
	for _, p := range paths {
		res.Drift = append(res.Drift, Drift{Path: p.String(), Manager: ownerOf(entries, res.Live.Object, p)})
	}
	res.Diff = unified(live, target, m)
	return nil
}

// unified renders the YAML of live and target as a unified diff, with
// Secret values redacted and the values of m masked.
func unified(live, target *unstructured.Unstructured, m *Masker) string {
	live, target = RedactPair(live, target)
	live, target = m.MaskPair(live, target)
	toYAML := func(o *unstructured.Unstructured) string {
		if o == nil {
			return ""
		}
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return fmt.Sprintf("# cannot render: %v\n", err)
		}
		return string(b)
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        difflib.SplitLines(toYAML(live)),
		B:        difflib.SplitLines(toYAML(target)),
		FromFile: "live",
		ToFile:   "desired",
		Context:  3,
	})
	if err != nil {
		return ""
	}
	return text
}
