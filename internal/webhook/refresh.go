package webhook

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
)

// RefreshApps asks for a normal refresh of every Application in namespace
// with a Git source that p Matches, by setting the soll.dev/refresh
// annotation, and returns how many Applications now have a refresh pending.
// Pass the manager's cached client: the list is served from its cache.
//
// Applications that are suspended or being deleted are left alone; one
// that already has a refresh pending keeps its mode, so a pending "hard"
// refresh is not weakened to "normal". Every app gets the push's token in
// soll.dev/refresh-push, so that the controller lists the repository once
// for all of them, after the push. A failed patch does not stop the
// others; the errors are returned joined.
func RefreshApps(ctx context.Context, c client.Client, namespace string, p Push) (int, error) {
	var list sollv1.ApplicationList
	if err := c.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return 0, fmt.Errorf("list applications in %s: %w", namespace, err)
	}
	m := newMatcher(p)
	// One token for every app of this push: the controller lists the
	// repository once for all of them (sollv1.RefreshPushAnnotation).
	token := rand.Text()
	mark := client.RawPatch(types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"`+sollv1.RefreshPushAnnotation+`":"`+token+`"}}}`))
	request := client.RawPatch(types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"`+sollv1.RefreshAnnotation+`":"normal","`+sollv1.RefreshPushAnnotation+`":"`+token+`"}}}`))
	matched := 0
	var errs []error
	for i := range list.Items {
		app := &list.Items[i]
		if app.Spec.Suspend || !app.DeletionTimestamp.IsZero() || !m.matchesApp(app) {
			continue
		}
		patch := request
		if _, pending := app.Annotations[sollv1.RefreshAnnotation]; pending {
			patch = mark // a pending "hard" stays hard
		}
		if err := c.Patch(ctx, app, patch); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("annotate application %s/%s: %w", app.Namespace, app.Name, err))
			}
			continue
		}
		matched++
	}
	return matched, errors.Join(errs...)
}

// matchesApp reports whether any Git source of app matches. Chart sources
// come from Helm repositories, which do not send Git pushes.
func (m *matcher) matchesApp(app *sollv1.Application) bool {
	sources := app.Spec.Sources
	if app.Spec.Source != nil {
		sources = []sollv1.ApplicationSource{*app.Spec.Source}
	}
	for i := range sources {
		s := &sources[i]
		if s.Chart == "" && m.matches(s.RepoURL, s.TargetRevision) {
			return true
		}
	}
	return false
}
