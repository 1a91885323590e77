package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
)

// liveParams are the query parameters of GET .../live.
var liveParams = []param{
	{"group", "string", "the object's API group; empty for the core group"},
	{"kind", "string", "the object's kind (required)"},
	{"namespace", "string", "the object's namespace; empty for cluster-scoped objects"},
	{"name", "string", "the object's name (required)"},
}

// appLive answers one live object of the app's resource tree (a managed
// resource or one of their children), without managedFields, with the
// values soll masks in diffs masked: a Secret's data, and values decrypted
// from SOPS files, found by rendering the app at the revisions of its last
// comparison as GET .../diff does. Objects outside the tree are not
// served: the right to get the app is not a right to read the cluster.
func (s *Server) appLive(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ctx := r.Context()
	app, t, kc, err := s.readAppTree(r, p)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	group, kind, ns, name := q.Get("group"), q.Get("kind"), q.Get("namespace"), q.Get("name")
	switch {
	case kind == "":
		return invalid("kind", "give the kind of the object to read (kind=Deployment)")
	case name == "":
		return invalid("name", "give the name of the object to read (name=web)")
	}
	version := ""
	found := false
	for _, n := range t.Nodes {
		if n.Group == group && n.Kind == kind && n.Namespace == ns && n.Name == name {
			version, found = n.Version, true
		}
	}
	if !found {
		return newError(http.StatusNotFound, "NotFound", "%s %s is not in the resource tree of application %s: only the app's resources and their children can be read", kind, name, app.Name)
	}
	if version == "" {
		return newError(http.StatusUnprocessableEntity, "NoVersion", "the status of application %s names no API version for %s %s; refresh the app and try again", app.Name, kind, name)
	}
	mask, err := s.liveMask(r, app)
	if err != nil {
		return err
	}
	gv := schema.GroupVersion{Group: group, Version: version}
	resources, err := kc.Discovery().ServerResourcesForGroupVersion(gv.String())
	if err != nil {
		return fmt.Errorf("discover the resources of %s: %w", gv, err)
	}
	plural, namespaced := "", false
	for _, res := range resources.APIResources {
		if res.Kind == kind && !strings.Contains(res.Name, "/") {
			plural, namespaced = res.Name, res.Namespaced
		}
	}
	if plural == "" {
		return newError(http.StatusNotFound, "NotFound", "the cluster serves no kind %s in %s", kind, gv)
	}
	path := "/api/" + version
	if group != "" {
		path = "/apis/" + group + "/" + version
	}
	if namespaced {
		path += "/namespaces/" + ns
	}
	path += "/" + plural + "/" + name
	raw, err := kc.CoreV1().RESTClient().Get().AbsPath(path).DoRaw(ctx)
	if apierrors.IsNotFound(err) {
		return newError(http.StatusNotFound, "NotFound", "%s %s of application %s is not in the cluster", kind, name, app.Name)
	}
	if err != nil {
		return fmt.Errorf("read %s %s: %w", kind, name, err)
	}
	obj := &unstructured.Unstructured{}
	if err := json.Unmarshal(raw, &obj.Object); err != nil {
		return fmt.Errorf("read %s %s: %w", kind, name, err)
	}
	obj.SetManagedFields(nil)
	writeJSON(w, http.StatusOK, mask(obj).Object)
	return nil
}

// liveMask returns what masks a live object of app: the masks of a render
// at the revisions of its last comparison (Secret data, and values
// decrypted from SOPS files). Without a render there is no telling which
// values were decrypted, so no live object is shown.
func (s *Server) liveMask(r *http.Request, app *sollv1.Application) (func(*unstructured.Unstructured) *unstructured.Unstructured, error) {
	if s.opts.Manifests == nil {
		return nil, newError(http.StatusNotImplemented, "NotImplemented",
			"this server was started without the render pipeline, which masks the values decrypted from SOPS files, so it shows no live objects")
	}
	m, err := s.opts.Manifests(r.Context(), app, comparedRevisions(app.Status.Sync))
	if err != nil {
		if reason := appstate.ReasonOf(err); reason != "" && !errors.Is(err, context.DeadlineExceeded) {
			return nil, newError(http.StatusUnprocessableEntity, "RenderFailed",
				"render application %s (%s), which tells which values to mask in its live objects: %v", app.Name, reason, err)
		}
		return nil, err
	}
	return m.Redact, nil
}
