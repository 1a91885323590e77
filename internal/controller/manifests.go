package controller

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	gosync "sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/diff"
	"soll.dev/internal/source/git"
)

// Manager is the manager NewManager builds. Besides running what was
// added to it, it renders Applications (RenderManifests) for the API: with
// the controller's own fetcher and render cache when it runs the
// controller, else (`soll server` alone) with a pipeline of its own built
// from the same packages at the first request.
type Manager struct {
	ctrl.Manager
	pipeline func() (*Reconciler, error)
}

// Manifests are an Application's desired objects at some revisions.
type Manifests struct {
	// Revisions are the resolved revisions, one per source: commit SHAs,
	// or chart versions for charts from a chart repository.
	Revisions []string
	// Objects are the objects a sync would apply, in the order the
	// sources rendered them, with soll's tracking annotation and managed
	// label and their namespaces defaulted. Hooks are included; Helm
	// pre-delete hooks, which only run when the app is deleted, are not.
	// Secrets are as rendered: redacting them (Redact) is the caller's
	// job.
	Objects []*unstructured.Unstructured

	// mask masks the values decrypted from SOPS files that objects other
	// than Secrets hold, when their Project allows it.
	mask *diff.Masker
}

// Redact returns o, one of m.Objects, as soll shows it: Secret data and
// values decrypted from SOPS files masked.
func (m *Manifests) Redact(o *unstructured.Unstructured) *unstructured.Unstructured {
	return m.mask.Mask(diff.Redact(o))
}

// RenderManifests renders app at revisions (one per source; nil or an
// empty entry: that source's target revision) and checks the result
// against the app's Project, as a comparison does, without reading live
// objects. app need not exist in the cluster. Errors are the ones a
// comparison reports; ErrorReason tells their stage.
func (m *Manager) RenderManifests(ctx context.Context, app *sollv1.Application, revisions []string) (*Manifests, error) {
	r, err := m.pipeline()
	if err != nil {
		return nil, err
	}
	return r.RenderManifests(ctx, app, revisions)
}

// RenderManifests renders app as Manager.RenderManifests does.
func (r *Reconciler) RenderManifests(ctx context.Context, app *sollv1.Application, revisions []string) (*Manifests, error) {
	c, desired, err := r.desired(ctx, app, revisions)
	if err != nil {
		return nil, err
	}
	return &Manifests{Revisions: c.revisions(), Objects: desired, mask: diff.NewMasker(c.decrypted)}, nil
}

// ErrorReason returns the condition reason of an error of RenderManifests
// (InvalidSpec, ProjectViolation, InvalidSettings, SourceError,
// RenderError), or "" for other errors.
func ErrorReason(err error) string {
	var se *stageError
	if errors.As(err, &se) {
		return se.reason
	}
	return ""
}

// IsProjectViolation reports whether err (of RenderManifests or a
// comparison) is a breach of the Application's Project rules.
func IsProjectViolation(err error) bool {
	var se *stageError
	return errors.As(err, &se) && se.reason == sollv1.ReasonProjectViolation
}

// standalonePipeline returns the render pipeline of a manager without
// the controller, built once at the first call. Its Git cache is a
// directory of its own (a subdirectory "api" of opts.CacheDir, or a new
// temporary one): a fetcher must not share its cache with another, and
// `soll controller` and `soll server` on one machine default to the same
// directory.
func standalonePipeline(cfg *rest.Config, mgr ctrl.Manager, opts Options) func() (*Reconciler, error) {
	return gosync.OnceValues(func() (*Reconciler, error) {
		dir := filepath.Join(opts.CacheDir, "api")
		if opts.CacheDir == "" {
			var err error
			if dir, err = os.MkdirTemp("", "soll-api-cache-"); err != nil {
				return nil, err
			}
		}
		fetcher, err := git.New(git.Options{CacheDir: dir, Logger: opts.Log})
		if err != nil {
			return nil, err
		}
		return newPipeline(cfg, mgr, opts, fetcher)
	})
}
