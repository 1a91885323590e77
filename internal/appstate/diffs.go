package appstate

import (
	"context"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/diff"
)

// Diffs are the differences of an Application's objects from Git at some
// revisions, as a comparison sees them now.
type Diffs struct {
	// Revisions are the resolved revisions, one per source.
	Revisions []string
	// Results are the compared objects that are not in sync: their
	// unified diffs (Secret values redacted) and drifted fields. Live and
	// Target are as read and dry-run: not redacted.
	Results []diff.Result
}

// Diff compares app at revisions (one per source; nil or an empty entry:
// that source's target revision) with the live objects, as Compare does,
// and returns the objects that differ. It changes nothing: the app's
// status is the controller's to write. Errors are the ones Compare
// reports (*Error).
func (p *Pipeline) Diff(ctx context.Context, app *sollv1.Application, revisions []string) (*Diffs, error) {
	c, err := p.Compare(ctx, app, revisions)
	if err != nil {
		return nil, err
	}
	out := &Diffs{Revisions: c.Revisions()}
	for _, res := range c.Results {
		if res.Status != diff.Synced {
			out.Results = append(out.Results, res)
		}
	}
	return out, nil
}
