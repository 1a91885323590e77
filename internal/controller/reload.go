package controller

import (
	"cmp"
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/project"
	"soll.dev/internal/render/sops"
	"soll.dev/internal/repocreds"
)

// Configuration that soll reads from its own namespace wakes the apps it
// concerns when it changes, instead of waiting for their next periodic
// comparison: the settings ConfigMap (health checks, ignore rules,
// plugins), the SSH known hosts ConfigMap, repository Secrets and
// credential templates (and the Secrets they borrow their values from),
// and the Secrets of SOPS keys. The watches are those of the manager's
// cache, which covers soll's namespace only, and which the comparisons read
// these objects through anyway: they cost no request of their own. An app
// woken by a change that does not touch its comparison's inputs is
// skipped cheaply (its fingerprint is unchanged); one whose last
// comparison failed (wrong credentials, an unknown host key) is compared
// again at once.

// configMapApps returns the apps of obj's namespace that a change of the
// ConfigMap obj concerns: every app for the settings ConfigMap, the apps
// with an SSH source for the known hosts; none for any other ConfigMap.
func (r *Reconciler) configMapApps(ctx context.Context, obj client.Object) []reconcile.Request {
	switch obj.GetName() {
	case sollv1.SettingsConfigMap:
		return r.appsWhere(ctx, obj, "configuration", func(*sollv1.Application) bool { return true })
	case repocreds.KnownHostsConfigMap:
		return r.appsWhere(ctx, obj, "configuration", func(app *sollv1.Application) bool {
			return slices.ContainsFunc(r.repositories(app), repocreds.IsSSHURL)
		})
	}
	return nil
}

// secretApps returns the apps of obj's namespace that a change of the
// Secret obj concerns: for a repository Secret or credential template,
// the apps that name it (credentialsRef) or have a repository it serves;
// for a Secret that repository Secrets borrow their values from
// (repocreds.CredentialsSecretKey), the apps of those; for a Secret of
// SOPS keys, the apps of the Projects it serves. None for any other
// Secret (soll's own, the apps' own).
func (r *Reconciler) secretApps(ctx context.Context, obj client.Object) []reconcile.Request {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return nil
	}
	if s.Name == sops.SecretName || s.Labels[sollv1.SecretTypeLabel] == sollv1.SecretTypeSOPSKeys {
		projects := strings.Split(s.Annotations[sollv1.SOPSProjectsAnnotation], ",")
		for i := range projects {
			projects[i] = strings.TrimSpace(projects[i])
		}
		return r.appsWhere(ctx, obj, "configuration", func(app *sollv1.Application) bool {
			return slices.Contains(projects, sops.AllProjects) || slices.Contains(projects, cmp.Or(app.Spec.Project, project.DefaultName))
		})
	}
	if repocreds.IsSecret(s) {
		return r.appsWhere(ctx, obj, "configuration", func(app *sollv1.Application) bool { return r.usesCredentials(app, s) })
	}
	if _, labelled := s.Labels[sollv1.SecretTypeLabel]; labelled {
		return nil
	}
	// Perhaps the values of repository Secrets: those that name it.
	var list corev1.SecretList
	if err := r.Client.List(ctx, &list, client.InNamespace(s.Namespace), client.HasLabels{sollv1.SecretTypeLabel}); err != nil {
		r.Log.Error("list the repository Secrets", "secret", s.Name, "error", err.Error())
		droppedEvents.WithLabelValues("configuration").Inc()
		return nil
	}
	var borrowers []*corev1.Secret
	for i := range list.Items {
		b := &list.Items[i]
		if repocreds.IsSecret(b) && strings.TrimSpace(string(b.Data[repocreds.CredentialsSecretKey])) == s.Name {
			borrowers = append(borrowers, b)
		}
	}
	if len(borrowers) == 0 {
		return nil
	}
	return r.appsWhere(ctx, obj, "configuration", func(app *sollv1.Application) bool {
		return slices.ContainsFunc(borrowers, func(b *corev1.Secret) bool { return r.usesCredentials(app, b) })
	})
}

// usesCredentials reports whether the repository Secret s may give app its
// credentials: a source names it, or it was saved for one of app's
// repositories (its own or those of its remote Kustomize bases). Its
// Project is left out: waking an app more than needed costs a
// fingerprint, missing one costs a refresh interval.
func (r *Reconciler) usesCredentials(app *sollv1.Application, s *corev1.Secret) bool {
	srcs, _ := appstate.Sources(app)
	for _, src := range srcs {
		if src.CredentialsRef != nil && src.CredentialsRef.Name == s.Name {
			return true
		}
	}
	return slices.ContainsFunc(r.repositories(app), func(url string) bool { return repocreds.ServesURL(s, url) })
}

// repositories returns the repository URLs app reads: those of its
// sources and of their remote Kustomize bases at its last comparison.
func (r *Reconciler) repositories(app *sollv1.Application) []string {
	srcs, _ := appstate.Sources(app)
	bases := r.apps.get(client.ObjectKeyFromObject(app)).remoteBases
	var repos []string
	for i, src := range srcs {
		repos = append(repos, src.RepoURL)
		repos = append(repos, bases[appstate.SourcePath(app, i)]...)
	}
	return repos
}

// appsWhere lists the Applications of obj's namespace from the cache and
// returns those for which concerns holds. A failed list is logged and
// counted under source (a label of soll_dropped_events_total): those apps
// see the change at their next refresh.
func (r *Reconciler) appsWhere(ctx context.Context, obj client.Object, source string, concerns func(*sollv1.Application) bool) []reconcile.Request {
	var apps sollv1.ApplicationList
	if err := r.Client.List(ctx, &apps, client.InNamespace(obj.GetNamespace())); err != nil {
		r.Log.Error("list the applications a change concerns", "source", source, "object", obj.GetName(), "error", err.Error())
		droppedEvents.WithLabelValues(source).Inc()
		return nil
	}
	var out []reconcile.Request
	for i := range apps.Items {
		if concerns(&apps.Items[i]) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&apps.Items[i])})
		}
	}
	return out
}
