package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/cluster"
	"soll.dev/internal/project"
)

// checkProject refuses an Application its Project does not permit (source
// repositories, destination, repository credentials), before it is
// written: the controller checks the same rules again at every comparison,
// so an app edited in the cluster cannot escape either. The error names the
// field at fault.
func (s *Server) checkProject(ctx context.Context, app *sollv1.Application) error {
	name := app.Spec.Project
	if name == "" {
		name = project.DefaultName
	}
	// From the API server, not the cache: a Project created a moment
	// ago (soll proj create, then soll app create) must be found.
	var p sollv1.Project
	err := s.opts.APIReader.Get(ctx, s.key(name), &p)
	switch {
	case apierrors.IsNotFound(err) && name == project.DefaultName:
		p = *project.Default()
	case apierrors.IsNotFound(err):
		return invalid("spec.project", "Project %s does not exist: create it or use another project", name)
	case err != nil:
		return err
	}
	if err := project.CheckApplication(&p, s.withCluster(ctx, app)); err != nil {
		msg := err.Error()
		field, _, _ := strings.Cut(msg, ": ")
		if !strings.HasPrefix(field, "spec.") {
			field = "spec"
		}
		return invalid(field, "%s", msg)
	}
	return s.checkCredentialsRefs(ctx, app)
}

// withCluster returns app, or a copy whose destination names its
// registered cluster both by name and by server, as the controller checks
// it: a Project's destination globs match either, whichever way the app
// names the cluster. An app whose cluster is not registered (yet) is
// checked as it is.
func (s *Server) withCluster(ctx context.Context, app *sollv1.Application) *sollv1.Application {
	d := app.Spec.Destination
	if appstate.IsInCluster(d) || d.Name != "" && d.Server != "" {
		return app
	}
	found, err := cluster.Find(ctx, s.opts.APIReader, s.opts.Namespace, d)
	if err != nil {
		return app
	}
	cp := app.DeepCopy()
	cp.Spec.Destination.Name, cp.Spec.Destination.Server = found.Name, found.Spec.Server
	return cp
}

// renderCheckTimeout bounds the render of an app that checkKinds waits
// for; a render that takes longer (a first fetch of a large repository)
// does not hold the write back.
const renderCheckTimeout = 10 * time.Second

// checkKinds renders app, where the server can (Options.Manifests), and
// refuses it when it would deploy an object of a kind its Project does not
// permit, naming the object: the kinds are only known from the rendered
// objects. Any other failure to render lets the write through, for the
// controller to report in the app's status, as does ?validate=false.
func (s *Server) checkKinds(r *http.Request, app *sollv1.Application) error {
	if s.opts.Manifests == nil {
		return nil
	}
	validate, err := boolParam(r, "validate", true)
	if err != nil || !validate {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), renderCheckTimeout)
	defer cancel()
	_, err = s.opts.Manifests(ctx, app, nil)
	if !appstate.IsProjectViolation(err) {
		return nil
	}
	field := "spec.source"
	if app.Spec.Source == nil {
		field = "spec.sources"
	}
	return invalid(field, "%v", err)
}
