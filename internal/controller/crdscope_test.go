package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv/gitserver"
)

// TestCRDsOfBothScopesWithInstances: an app holding a CRD of each scope
// and an instance of each, written without a namespace, syncs from empty
// (the kinds unknown to the cluster until the sync installs them) to
// Synced and Healthy: the cluster-scoped instance is tracked without a
// namespace, the namespaced one in the destination's, no object is
// reported as shared with the app itself, and the comparisons after the
// sync stay Synced.
func TestCRDsOfBothScopesWithInstances(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: map[string]string{"unused/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unused\n"}})
	// A group of this test's own: CRDs are cluster-wide, and tests
	// share the cluster.
	group := h.destNS + ".scope.example.com"
	crd := func(plural, kind, scope string) string {
		return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ` + plural + `.` + group + `
spec:
  group: ` + group + `
  scope: ` + scope + `
  names: {plural: ` + plural + `, singular: ` + strings.ToLower(kind) + `, kind: ` + kind + `, listKind: ` + kind + `List}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
`
	}
	instance := func(kind, name string) string {
		return "apiVersion: " + group + "/v1\nkind: " + kind + "\nmetadata:\n  name: " + name + "\nspec:\n  size: 3\n"
	}
	t.Cleanup(func() {
		for _, name := range []string{"widgets." + group, "gadgets." + group} {
			err := h.env.Client.Delete(context.Background(), &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("delete CRD %s: %v", name, err)
			}
		}
	})
	h.git.Commit(t, h.repo, gitserver.DefaultBranch, gitserver.Change{Message: "CRDs and instances", Files: map[string]string{
		"crds/widgets.yaml": crd("widgets", "Widget", "Cluster"),
		"crds/gadgets.yaml": crd("gadgets", "Gadget", "Namespaced"),
		"crds/widget.yaml":  instance("Widget", h.destNS+"-w"), // cluster-wide: a name of this test's own
		"crds/gadget.yaml":  instance("Gadget", "g"),
	}})
	h.createAppNamed("crds", "crds", nil)
	app := h.waitForApp("crds", "OutOfSync before the first sync", time.Minute, func(a *sollv1.Application) bool {
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusOutOfSync
	})
	// Before the CRDs exist, the scopes come from the CRDs in the app.
	checkOnlyResources(t, app,
		"CustomResourceDefinition /gadgets."+group, "CustomResourceDefinition /widgets."+group,
		"Gadget "+h.destNS+"/g", "Widget /"+h.destNS+"-w")

	h.requestSyncOf("crds")
	app = h.waitForApp("crds", "first sync", 2*time.Minute, succeededAfter(1))
	checkSettled(t, app)
	checkOnlyResources(t, app,
		"CustomResourceDefinition /gadgets."+group, "CustomResourceDefinition /widgets."+group,
		"Gadget "+h.destNS+"/g", "Widget /"+h.destNS+"-w")

	// Comparisons after the sync, with the kinds served, agree.
	h.settle("crds", "hard")
	checkSettled(t, h.appNamed("crds"))
	h.requestSyncOf("crds")
	app = h.waitForApp("crds", "second sync", 2*time.Minute, succeededAfter(2))
	checkSettled(t, app)
}
