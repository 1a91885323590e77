package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

func presentProject(p *sollv1.Project) *sollv1.Project {
	out := p.DeepCopy()
	out.APIVersion, out.Kind = sollv1.GroupVersion.String(), "Project"
	out.ManagedFields = nil
	return out
}

// listProjects lists the projects p may get, by name.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var list sollv1.ProjectList
	if err := s.opts.Client.List(r.Context(), &list, client.InNamespace(s.opts.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("list projects: %w", err)
	}
	items := []*sollv1.Project{}
	for i := range list.Items {
		if s.opts.RBAC.Allowed(p, resProjects, actGet, list.Items[i].Name) {
			items = append(items, presentProject(&list.Items[i]))
		}
	}
	slices.SortFunc(items, func(a, b *sollv1.Project) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, apitypes.ProjectList{Items: items, Total: len(items)})
	return nil
}

func (s *Server) readProject(r *http.Request, p *Principal, action, name string) (*sollv1.Project, error) {
	if err := s.forbid(p, resProjects, action, name); err != nil {
		return nil, err
	}
	proj := &sollv1.Project{}
	if err := s.opts.APIReader.Get(r.Context(), s.key(name), proj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound("project %s not found", name)
		}
		return nil, fmt.Errorf("read project %s: %w", name, err)
	}
	noteObject(r.Context(), name, name, proj.UID)
	return proj, nil
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, p *Principal) error {
	proj, err := s.readProject(r, p, actGet, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, presentProject(proj))
	return nil
}

// projectFromBody reads a Project as appFromBody reads an Application.
func (s *Server) projectFromBody(r *http.Request) (*sollv1.Project, error) {
	var in sollv1.Project
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	name, err := s.nameFromBody(r, in.ObjectMeta, "projects")
	if err != nil {
		return nil, err
	}
	return &sollv1.Project{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: s.opts.Namespace, Labels: in.Labels, Annotations: in.Annotations, ResourceVersion: in.ResourceVersion,
		},
		Spec: in.Spec,
	}, nil
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request, p *Principal) error {
	proj, err := s.projectFromBody(r)
	if err != nil {
		return err
	}
	noteObject(r.Context(), proj.Name, proj.Name, "")
	if err := s.forbid(p, resProjects, actCreate, proj.Name); err != nil {
		return err
	}
	proj.ResourceVersion = ""
	if err := s.opts.Client.Create(r.Context(), proj); err != nil {
		return err
	}
	noteObject(r.Context(), proj.Name, proj.Name, proj.UID)
	writeJSON(w, http.StatusCreated, presentProject(proj))
	return nil
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request, p *Principal) error {
	in, err := s.projectFromBody(r)
	if err != nil {
		return err
	}
	var cur *sollv1.Project
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if cur, err = s.readProject(r, p, actUpdate, in.Name); err != nil {
			return err
		}
		cur.Spec, cur.Labels, cur.Annotations = in.Spec, in.Labels, in.Annotations
		if in.ResourceVersion != "" {
			cur.ResourceVersion = in.ResourceVersion
		}
		err := s.opts.Client.Update(r.Context(), cur)
		if in.ResourceVersion != "" && apierrors.IsConflict(err) {
			return conflict("project %s was changed since resourceVersion %s: read it again and reapply your change", in.Name, in.ResourceVersion)
		}
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, presentProject(cur))
	return nil
}

// patchProject applies a JSON merge patch (RFC 7396) to a project's spec
// and metadata labels and annotations.
func (s *Server) patchProject(w http.ResponseWriter, r *http.Request, p *Principal) error {
	b, _, err := decodeMergePatch(r)
	if err != nil {
		return err
	}
	proj, err := s.readProject(r, p, actUpdate, r.PathValue("name"))
	if err != nil {
		return err
	}
	if err := s.opts.Client.Patch(r.Context(), proj, client.RawPatch(types.MergePatchType, b)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, presentProject(proj))
	return nil
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request, p *Principal) error {
	proj, err := s.readProject(r, p, actDelete, r.PathValue("name"))
	if err != nil {
		return err
	}
	if err := s.opts.Client.Delete(r.Context(), proj, client.Preconditions{UID: &proj.UID}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
