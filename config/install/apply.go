package install

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FieldManager owns the fields that Apply sets.
const FieldManager = "soll-install"

// Apply applies objs (as Objects returns them) with server-side apply as
// FieldManager, taking over fields other managers own: the CRDs first,
// then, once the API server serves every one of them (Established), the
// other objects in order. It both installs and upgrades: applying newer
// CRDs over older ones keeps the Applications and Projects stored, and the
// Deployment is only replaced once the CRDs its controller needs are
// served. Objects of a kind the install makes only with some options (the
// PodDisruptionBudget of several replicas) that Apply applied before and
// objs no longer hold are deleted: going back to one replica leaves no
// budget that blocks every eviction. It writes one line per applied or
// deleted object to out. c must know the CustomResourceDefinition type.
func Apply(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, out io.Writer) error {
	var crds, rest []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, o)
		} else {
			rest = append(rest, o)
		}
	}
	if err := applyAll(ctx, c, crds, out); err != nil {
		return err
	}
	for _, o := range crds {
		if err := WaitEstablished(ctx, c, o.GetName()); err != nil {
			return err
		}
	}
	if err := applyAll(ctx, c, rest, out); err != nil {
		return err
	}
	return pruneDropped(ctx, c, objs, out)
}

// droppable are the kinds of the objects the install makes only with some
// options.
var droppable = []schema.GroupVersionKind{{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}}

// pruneDropped deletes, in the namespaces of objs, the objects of the
// droppable kinds that objs do not hold, when Apply made them (they carry
// soll's part-of label and FieldManager manages them): a budget someone
// else made stays.
func pruneDropped(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, out io.Writer) error {
	keep := map[string]bool{}
	namespaces := map[string]bool{}
	for _, o := range objs {
		keep[o.GroupVersionKind().String()+"/"+o.GetNamespace()+"/"+o.GetName()] = true
		if o.GetNamespace() != "" {
			namespaces[o.GetNamespace()] = true
		}
	}
	for _, gvk := range droppable {
		for ns := range namespaces {
			var list unstructured.UnstructuredList
			list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/part-of": "soll"}); err != nil {
				return fmt.Errorf("list %ss in %s: %w", gvk.Kind, ns, err)
			}
			for i := range list.Items {
				o := &list.Items[i]
				if keep[gvk.String()+"/"+ns+"/"+o.GetName()] || !slices.ContainsFunc(o.GetManagedFields(), func(m metav1.ManagedFieldsEntry) bool { return m.Manager == FieldManager }) {
					continue
				}
				if err := c.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
					return fmt.Errorf("delete %s %s, which this install no longer makes: %w", gvk.Kind, o.GetName(), err)
				}
				if _, err := fmt.Fprintf(out, "%s %s deleted (not part of this install)\n", gvk.Kind, o.GetName()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func applyAll(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, out io.Writer) error {
	for _, o := range objs {
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner(FieldManager), client.ForceOwnership)
		if err != nil {
			return fmt.Errorf("apply %s %s: %w: installing soll needs the rights to create CRDs and RBAC (cluster-admin)", o.GetKind(), o.GetName(), err)
		}
		if _, err := fmt.Fprintf(out, "%s %s applied\n", o.GetKind(), o.GetName()); err != nil {
			return err
		}
	}
	return nil
}

// WaitEstablished waits until the CRD name is Established, which means the
// API server serves its resource.
func WaitEstablished(ctx context.Context, c client.Client, name string) error {
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for {
		var crd apiextensionsv1.CustomResourceDefinition
		err := c.Get(ctx, client.ObjectKey{Name: name}, &crd)
		if err == nil {
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s is not established (last error: %v): check it with kubectl describe crd %s", name, err, name)
		case <-ticker.C:
		}
	}
}
