package appstate

import (
	"context"
	"errors"
	"fmt"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/project"
	"soll.dev/internal/render"
	"soll.dev/internal/render/kustomize"
	"soll.dev/internal/repocreds"
	"soll.dev/internal/source"
)

// resolveKustomize fills in what the kustomizations of a Kustomize source
// need from outside its repository (see kustomize.Resolver), so that the
// render itself fetches nothing:
//
//   - when the Project allows remote bases, each is fetched like an
//     Application source: from a repository spec.sourceRepos allows, with
//     the credentials and SSH known hosts found for its URL, its revision
//     resolved through the shared ref listing and its commit checked out
//     into a shared snapshot. The render request names the snapshots, so
//     a cached render is reused until a base moves to another commit;
//   - when the source enables helmCharts, each chart repository they name
//     must be allowed by spec.sourceRepos, and gets the credentials found
//     for its URL, as Helm sources do.
//
// field names the source in messages ("spec.source").
func (p *Pipeline) resolveKustomize(ctx context.Context, app *sollv1.Application, proj *sollv1.Project, field string, req *render.Request) error {
	remote := proj.Spec.AllowRemoteKustomizeBases
	helm := req.Kustomize != nil && req.Kustomize.EnableHelm
	if !remote && !helm {
		return nil
	}
	res := &kustomize.Resolver{}
	var repos []string
	if remote {
		res.Fetch = func(ctx context.Context, base kustomize.Remote) (string, error) {
			repos = append(repos, base.RepoURL)
			return p.fetchRemoteBase(ctx, app, proj, field, base)
		}
	}
	resolved, err := res.Resolve(ctx, *req)
	if p.OnRemoteBases != nil {
		p.OnRemoteBases(app, field, repos)
	}
	if err != nil {
		reason := ReasonSourceError
		var se *Error
		if errors.As(err, &se) {
			reason = se.Reason
		}
		return &Error{reason, fmt.Errorf("%s: %w", field, err)}
	}
	req.Remotes = resolved.Remotes
	if !helm {
		return nil
	}
	for _, repo := range resolved.ChartRepos {
		if err := project.CheckRepo(proj, field+" (a chart repository of helmCharts)", repo); err != nil {
			return &Error{ReasonProjectViolation, err}
		}
		creds, err := repocreds.Lookup(ctx, p.Client, app, &sollv1.ApplicationSource{RepoURL: repo}, field)
		if err != nil {
			return &Error{ReasonSourceError, err}
		}
		if req.ChartCredentials == nil {
			req.ChartCredentials = map[string]source.Credentials{}
		}
		req.ChartCredentials[repo] = creds
	}
	return nil
}

// fetchRemoteBase checks out the snapshot of a remote base, as
// resolveKustomize describes. Errors the Project causes are *Errors
// with the reason ProjectViolation.
func (p *Pipeline) fetchRemoteBase(ctx context.Context, app *sollv1.Application, proj *sollv1.Project, field string, base kustomize.Remote) (string, error) {
	if err := project.CheckRepo(proj, "repository", base.RepoURL); err != nil {
		return "", &Error{ReasonProjectViolation, err}
	}
	creds, err := repocreds.Lookup(ctx, p.Client, app, &sollv1.ApplicationSource{RepoURL: base.RepoURL}, field)
	if err != nil {
		return "", err
	}
	rev, err := p.Fetcher.Resolve(ctx, base.RepoURL, base.Ref, creds)
	if err != nil {
		return "", fmt.Errorf("resolve revision %q: %w", base.Ref, err)
	}
	snap, err := p.Fetcher.Checkout(ctx, base.RepoURL, rev.Commit, creds)
	if err != nil {
		return "", fmt.Errorf("check out %s: %w", Short(rev.Commit), err)
	}
	return snap.Dir, nil
}

// renderReason is the condition reason of a failed render: a remote base
// the Project does not allow is a ProjectViolation.
func renderReason(proj *sollv1.Project, err error) Reason {
	if errors.Is(err, kustomize.ErrRemote) && !proj.Spec.AllowRemoteKustomizeBases {
		return ReasonProjectViolation
	}
	return ReasonRenderError
}
