package appstate

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/diff"
)

// Manifests are an Application's desired objects at some revisions.
type Manifests struct {
	// Revisions are the resolved revisions, one per source: commit SHAs,
	// or chart versions for charts from a chart repository.
	Revisions []string
	// Objects are the objects a sync would apply, in the order the
	// sources rendered them, with soll's tracking annotation and managed
	// label and their namespaces defaulted. Hooks are included, those that
	// only run when the app is deleted (PreDelete, PostDelete) too.
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

// Render renders app at revisions (one per source; nil or an empty entry:
// that source's target revision) and checks the result against the app's
// Project, as Compare does, without reading live objects. app need not
// exist in the cluster. Errors are the ones Compare reports (*Error).
func (p *Pipeline) Render(ctx context.Context, app *sollv1.Application, revisions []string) (*Manifests, error) {
	c, desired, err := p.desired(ctx, app, revisions)
	if err != nil {
		return nil, err
	}
	return &Manifests{Revisions: c.Revisions(), Objects: desired, mask: diff.NewMasker(c.decrypted)}, nil
}
