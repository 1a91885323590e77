package devenv

import (
	"context"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"soll.dev/config/crd"
)

// CRDFieldOwner is the field manager of InstallCRDs' applies.
const CRDFieldOwner = "soll-devenv"

// InstallCRDs installs soll's CRDs into the cluster with server-side apply
// (so concurrent callers, such as test packages, agree, and CRDs of an
// older soll are brought up to date) and waits, at most a minute, until
// each is Established and c's REST mapper serves its kind. c must know
// apiextensions/v1.
func InstallCRDs(ctx context.Context, c client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	docs, err := crd.CRDs()
	if err != nil {
		return err
	}
	var names []string
	var kinds []schema.GroupVersionKind
	for _, doc := range docs {
		var def apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(doc, &def); err != nil {
			return fmt.Errorf("parse CRD: %w", err)
		}
		def.TypeMeta.APIVersion = apiextensionsv1.SchemeGroupVersion.String()
		def.TypeMeta.Kind = "CustomResourceDefinition"
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&def)
		if err != nil {
			return fmt.Errorf("apply CRD %s: %w", def.Name, err)
		}
		ac := client.ApplyConfigurationFromUnstructured(&unstructured.Unstructured{Object: m})
		if err := c.Apply(ctx, ac, client.FieldOwner(CRDFieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply CRD %s: %w", def.Name, err)
		}
		names = append(names, def.Name)
		kinds = append(kinds, schema.GroupVersionKind{Group: def.Spec.Group, Version: def.Spec.Versions[0].Name, Kind: def.Spec.Names.Kind})
	}
	for _, name := range names {
		err := poll(ctx, func() (bool, error) {
			var got apiextensionsv1.CustomResourceDefinition
			if err := c.Get(ctx, client.ObjectKey{Name: name}, &got); err != nil {
				return false, err
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s never became Established: %w", name, err)
		}
	}
	// The API server's discovery can lag the Established condition: wait
	// until the client maps each kind, so a first request does not fail
	// with "no matches for kind".
	for _, gvk := range kinds {
		err := poll(ctx, func() (bool, error) {
			_, err := c.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
			return err == nil, err
		})
		if err != nil {
			return fmt.Errorf("kind %s is not served after its CRD became Established: %w", gvk, err)
		}
	}
	return nil
}

// poll calls cond every 100ms until it holds or ctx ends; errors are
// retried and the last one is reported.
func poll(ctx context.Context, cond func() (bool, error)) error {
	var last error
	for {
		ok, err := cond()
		if err == nil && ok {
			return nil
		}
		if err != nil && ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
