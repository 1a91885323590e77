package appstate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/project"
	"soll.dev/internal/resource"
)

// project returns app's Project: from soll's namespace, or the permissive
// default when the Project "default" does not exist. An Application of a
// Project that does not exist is refused: deploying it unrestricted would
// defeat the Project.
func (p *Pipeline) project(ctx context.Context, app *sollv1.Application) (*sollv1.Project, error) {
	name := app.Spec.Project
	if name == "" {
		name = project.DefaultName
	}
	var proj sollv1.Project
	key := client.ObjectKey{Namespace: app.Namespace, Name: name}
	err := p.Client.Get(ctx, key, &proj)
	if apierrors.IsNotFound(err) && p.APIReader != nil {
		// The cache may not have seen a Project created a moment ago
		// (soll proj create, then soll app create).
		err = p.APIReader.Get(ctx, key, &proj)
	}
	switch {
	case apierrors.IsNotFound(err) && name == project.DefaultName:
		return project.Default(), nil
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("spec.project: Project %s does not exist in namespace %s: create it or use another project", name, app.Namespace)
	case err != nil:
		return nil, fmt.Errorf("read Project %s: %w", name, err)
	}
	return &proj, nil
}

// checkResources refuses desired objects whose kind the Project does not
// permit, and namespaced objects in a namespace the Project's destinations
// do not allow for app's cluster (an object may set its own
// metadata.namespace), naming each. It runs before anything of app is
// applied or dry-run.
func checkResources(p *sollv1.Project, app *sollv1.Application, desired []*unstructured.Unstructured) error {
	var errs []error
	for _, d := range desired {
		gvk := d.GroupVersionKind()
		namespaced := d.GetNamespace() != ""
		if err := project.CheckResource(p, gvk.Group, gvk.Kind, namespaced); err != nil {
			var re *project.ResourceError
			if errors.As(err, &re) {
				re.Name = resource.KeyOf(d).Name
			}
			errs = append(errs, err)
		}
		if namespaced {
			errs = append(errs, project.CheckObjectNamespace(p, app, resource.KeyOf(d)))
		}
	}
	return errors.Join(errs...)
}

// checkTarget refuses desired objects the destination cluster's
// registration does not let soll touch: namespaced objects outside its
// namespaces, cluster-scoped ones when it allows none, naming each.
func checkTarget(t *Target, desired []*unstructured.Unstructured) error {
	var errs []error
	for _, d := range desired {
		switch ns := d.GetNamespace(); {
		case ns == "" && !t.ClusterScoped:
			errs = append(errs, fmt.Errorf("%s: cluster %s does not let soll deploy cluster-scoped objects (spec.clusterResources of Cluster %s): remove the object from the sources, or ask an admin to allow cluster resources there",
				resource.KeyOf(d), t.Name, t.Name))
		case ns != "" && len(t.Namespaces) > 0 && !slices.Contains(t.Namespaces, ns):
			errs = append(errs, fmt.Errorf("%s: namespace %s is not one that cluster %s lets soll touch (spec.namespaces of Cluster %s: %s): use one of those namespaces, or ask an admin to add it",
				resource.KeyOf(d), ns, t.Name, t.Name, strings.Join(t.Namespaces, ", ")))
		}
	}
	return errors.Join(errs...)
}
