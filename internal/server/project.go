package server

import (
	"context"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/project"
)

// checkProject refuses an Application its Project does not permit (source
// repositories, destination), before it is written: the controller checks
// the same rules again at every comparison, so an app edited in the cluster
// cannot escape either. The error names the field at fault.
func (s *Server) checkProject(ctx context.Context, app *sollv1.Application) error {
	name := app.Spec.Project
	if name == "" {
		name = project.DefaultName
	}
	var p sollv1.Project
	err := s.opts.Client.Get(ctx, s.key(name), &p)
	switch {
	case apierrors.IsNotFound(err) && name == project.DefaultName:
		p = *project.Default()
	case apierrors.IsNotFound(err):
		return invalid("spec.project", "Project %s does not exist: create it or use another project", name)
	case err != nil:
		return err
	}
	if err := project.CheckApplication(&p, app); err != nil {
		msg := err.Error()
		field, _, _ := strings.Cut(msg, ": ")
		if !strings.HasPrefix(field, "spec.") {
			field = "spec"
		}
		return invalid(field, "%s", msg)
	}
	return nil
}
