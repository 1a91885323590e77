package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// appObject is the RBAC object of an app: "<project>/<name>".
func appObject(a *sollv1.Application) string { return appProject(a) + "/" + a.Name }

func (s *Server) key(name string) client.ObjectKey {
	return client.ObjectKey{Namespace: s.opts.Namespace, Name: name}
}

// readApp reads the app name from the API server and checks that p may
// act on it (see checkApp).
func (s *Server) readApp(ctx context.Context, p *Principal, action, name string) (*sollv1.Application, error) {
	app := &sollv1.Application{}
	if err := s.opts.APIReader.Get(ctx, s.key(name), app); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, appNotFound(name)
		}
		return nil, fmt.Errorf("read application %s: %w", name, err)
	}
	noteObject(ctx, name, appProject(app), app.UID)
	if err := s.checkApp(p, action, app); err != nil {
		return nil, err
	}
	return app, nil
}

// appNotFound is the answer about the app name when it does not exist,
// and when the caller may not get it.
func appNotFound(name string) *Error { return notFound("application %s not found", name) }

// checkApp checks that p may act on app. A caller who may not get the app
// is answered as if it did not exist, so that neither its existence nor
// its project leaks; one who may get it but not act on it is forbidden.
func (s *Server) checkApp(p *Principal, action string, app *sollv1.Application) error {
	if !s.opts.RBAC.Allowed(p, resApplications, actGet, appObject(app)) {
		return appNotFound(app.Name)
	}
	if action == actGet {
		return nil
	}
	return s.forbid(p, resApplications, action, appObject(app))
}

// decode reads a JSON body into v, refusing unknown fields so that a typo
// is an error rather than a silently ignored setting.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return invalid("", "the request needs a JSON body")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return invalid(f, "unknown field %q", f)
		}
		var fe *apitypes.FieldError
		if errors.As(err, &fe) {
			return invalid(fe.Field, "%s", fe.Error())
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalid(te.Field, "field %s: want a JSON %s, not %s", te.Field, te.Type, te.Value)
		}
		return invalid("", "the body is not valid JSON: %v", err)
	}
	return nil
}

// decodeOptional is decode for bodies that may be left out: an empty
// body leaves v as it is.
func decodeOptional(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return decode(r, v)
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q, err := parseAppQuery(r.URL.Query())
	if err != nil {
		return err
	}
	var list sollv1.ApplicationList
	if err := s.opts.Client.List(r.Context(), &list, client.InNamespace(s.opts.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("list applications: %w", err)
	}
	visible := func(a *sollv1.Application) bool { return s.opts.RBAC.Allowed(p, resApplications, actGet, appObject(a)) }
	writeJSON(w, http.StatusOK, q.page(list.Items, visible))
	return nil
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request, p *Principal) error {
	app, err := s.readApp(r.Context(), p, actGet, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, present(app))
	return nil
}

// appFromBody reads an Application from the request: name from the path
// (when there is one) or the body, soll's namespace, and of the metadata
// only labels, annotations and, on create, finalizers.
func (s *Server) appFromBody(r *http.Request) (*sollv1.Application, error) {
	var in sollv1.Application
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	name, err := s.nameFromBody(r, in.ObjectMeta, "applications")
	if err != nil {
		return nil, err
	}
	if in.Operation != nil {
		return nil, invalid("operation", "operations are requested with POST /api/v1/applications/{name}/sync or /rollback, not in the object")
	}
	if in.Spec.Project == "" {
		in.Spec.Project = "default"
	}
	return &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: s.opts.Namespace, Labels: in.Labels, Annotations: in.Annotations,
			Finalizers: in.Finalizers, ResourceVersion: in.ResourceVersion,
		},
		Spec: in.Spec,
	}, nil
}

// nameFromBody returns the name of the object a request writes: from the
// path when there is one (the body's must then agree), else the body's. A
// namespace in the body must be soll's, where kind ("applications",
// "projects") live.
func (s *Server) nameFromBody(r *http.Request, in metav1.ObjectMeta, kind string) (string, error) {
	name := r.PathValue("name")
	switch {
	case name != "" && in.Name != "" && in.Name != name:
		return "", invalid("metadata.name", "metadata.name %q differs from the name %q in the URL", in.Name, name)
	case name == "" && in.Name == "":
		return "", invalid("metadata.name", "metadata.name is required")
	case in.Namespace != "" && in.Namespace != s.opts.Namespace:
		return "", invalid("metadata.namespace", "%s live in namespace %s, not %s", kind, s.opts.Namespace, in.Namespace)
	}
	if name == "" {
		name = in.Name
	}
	return name, nil
}

// createApp creates an app; it deletes its resources when it is deleted
// (the resources finalizer) unless ?cascade=false.
func (s *Server) createApp(w http.ResponseWriter, r *http.Request, p *Principal) error {
	cascade, err := boolParam(r, "cascade", true)
	if err != nil {
		return err
	}
	app, err := s.appFromBody(r)
	if err != nil {
		return err
	}
	noteObject(r.Context(), app.Name, appProject(app), "")
	if err := s.forbid(p, resApplications, actCreate, appObject(app)); err != nil {
		return err
	}
	if err := s.checkProject(r.Context(), app); err != nil {
		return err
	}
	if err := s.checkKinds(r, app); err != nil {
		return err
	}
	app.ResourceVersion = ""
	if cascade {
		controllerutil.AddFinalizer(app, sollv1.ResourcesFinalizer)
	} else {
		controllerutil.RemoveFinalizer(app, sollv1.ResourcesFinalizer)
	}
	if err := s.opts.Client.Create(r.Context(), app); err != nil {
		return err
	}
	noteObject(r.Context(), app.Name, appProject(app), app.UID)
	writeJSON(w, http.StatusCreated, present(app))
	return nil
}

// updateApp replaces an app's spec, labels and annotations. With
// metadata.resourceVersion in the body, a concurrent change is a 409;
// without, the last writer wins.
func (s *Server) updateApp(w http.ResponseWriter, r *http.Request, p *Principal) error {
	in, err := s.appFromBody(r)
	if err != nil {
		return err
	}
	var cur *sollv1.Application
	kindsChecked := false
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if cur, err = s.readApp(r.Context(), p, actUpdate, in.Name); err != nil {
			return err
		}
		if err := s.forbid(p, resApplications, actUpdate, appObject(in)); err != nil {
			return err
		}
		specChanged := !equality.Semantic.DeepEqual(cur.Spec, in.Spec)
		cur.Spec, cur.Labels, cur.Annotations = in.Spec, in.Labels, in.Annotations
		if err := s.checkProject(r.Context(), cur); err != nil {
			return err
		}
		if specChanged && !kindsChecked {
			if err := s.checkKinds(r, cur); err != nil {
				return err
			}
			kindsChecked = true
		}
		if in.ResourceVersion != "" {
			cur.ResourceVersion = in.ResourceVersion
		}
		err := s.opts.Client.Update(r.Context(), cur)
		if in.ResourceVersion != "" && apierrors.IsConflict(err) {
			return conflict("application %s was changed since resourceVersion %s: read it again and reapply your change", in.Name, in.ResourceVersion)
		}
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, present(cur))
	return nil
}

// patchApp applies a JSON merge patch (RFC 7396) to an app's spec and
// metadata labels and annotations. The caller is authorized for the app
// as it is stored and as it will be stored: the merged result, with an
// empty project meaning the Project default, so removing or emptying
// spec.project cannot move an app out of the caller's Projects.
func (s *Server) patchApp(w http.ResponseWriter, r *http.Request, p *Principal) error {
	_, patch, err := decodeMergePatch(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	meta, _ := patch["metadata"].(map[string]any)
	clientVersion, _ := meta["resourceVersion"].(string)
	var app *sollv1.Application
	kindsChecked := false
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if app, err = s.readApp(r.Context(), p, actUpdate, name); err != nil {
			return err
		}
		// The patch is sent with the resourceVersion read, so that what
		// is written is the preview checked here, not a merge with a
		// change made meanwhile.
		b, err := patchAt(patch, app.ResourceVersion, clientVersion)
		if err != nil {
			return err
		}
		// The merged result is authorized and checked against its
		// Project before the real write: a dry run of the same patch
		// gives it.
		preview := app.DeepCopy()
		if err := s.opts.Client.Patch(r.Context(), preview, client.RawPatch(types.MergePatchType, b), client.DryRunAll); err != nil {
			return patchConflict(err, name, clientVersion)
		}
		if err := s.forbid(p, resApplications, actUpdate, appObject(preview)); err != nil {
			return err
		}
		if err := s.checkProject(r.Context(), preview); err != nil {
			return err
		}
		if !kindsChecked && !equality.Semantic.DeepEqual(app.Spec, preview.Spec) {
			if err := s.checkKinds(r, preview); err != nil {
				return err
			}
			kindsChecked = true
		}
		return patchConflict(s.opts.Client.Patch(r.Context(), app, client.RawPatch(types.MergePatchType, b)), name, clientVersion)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, present(app))
	return nil
}

// patchAt returns the merge patch with metadata.resourceVersion set: the
// client's, when it sent one, else the one the server read.
func patchAt(patch map[string]any, read, client string) ([]byte, error) {
	out := make(map[string]any, len(patch)+1)
	for k, v := range patch {
		out[k] = v
	}
	meta := map[string]any{}
	if m, ok := patch["metadata"].(map[string]any); ok {
		for k, v := range m {
			meta[k] = v
		}
	}
	meta["resourceVersion"] = cmp.Or(client, read)
	out["metadata"] = meta
	return json.Marshal(out)
}

// patchConflict turns a conflict of a patch conditional on the client's
// resourceVersion into a 409 that says what to do; a conflict on the
// server's own read is returned as is, for the caller to retry.
func patchConflict(err error, name, clientVersion string) error {
	if clientVersion != "" && apierrors.IsConflict(err) {
		return conflict("application %s was changed since resourceVersion %s: read it again and reapply your change", name, clientVersion)
	}
	return err
}

// decodeMergePatch reads a JSON merge patch of an object's spec and
// metadata labels and annotations (metadata.resourceVersion makes it
// conditional); it returns the patch as sent and decoded.
func decodeMergePatch(r *http.Request) ([]byte, map[string]any, error) {
	var patch map[string]any
	if err := decode(r, &patch); err != nil {
		return nil, nil, err
	}
	for k, v := range patch {
		switch k {
		case "spec":
		case "metadata":
			meta, _ := v.(map[string]any)
			for mk := range meta {
				if mk != "labels" && mk != "annotations" && mk != "resourceVersion" {
					return nil, nil, invalid("metadata."+mk, "only metadata.labels and metadata.annotations can be patched")
				}
			}
		default:
			return nil, nil, invalid(k, "only spec and metadata can be patched; operations have their own endpoints")
		}
	}
	b, err := json.Marshal(patch)
	return b, patch, err
}

// deleteApp deletes an app. ?cascade=true deletes its resources with it,
// false leaves them in place; without it the app's finalizers decide.
func (s *Server) deleteApp(w http.ResponseWriter, r *http.Request, p *Principal) error {
	name := r.PathValue("name")
	cascade, err := boolParam(r, "cascade", false)
	if err != nil {
		return err
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		app, err := s.readApp(r.Context(), p, actDelete, name)
		if err != nil {
			return err
		}
		if r.URL.Query().Has("cascade") {
			changed := false
			if cascade {
				changed = controllerutil.AddFinalizer(app, sollv1.ResourcesFinalizer)
			} else {
				changed = controllerutil.RemoveFinalizer(app, sollv1.ResourcesFinalizer)
			}
			if changed {
				if err := s.opts.Client.Update(r.Context(), app); err != nil {
					return err
				}
			}
		}
		return s.opts.Client.Delete(r.Context(), app, client.Preconditions{UID: &app.UID})
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
