package testenv

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"soll.dev/config/crd"
)

var crdsInstalled sync.Map // kubeconfig path -> *crdInstall

type crdInstall struct {
	once sync.Once
	err  error
}

// InstallCRDs installs soll's CRDs into the cluster (server-side apply, so
// concurrent test packages agree) and waits until they are Established. It
// runs once per cluster and process. e.Client knows soll's types already.
func (e *Env) InstallCRDs(t testing.TB) {
	t.Helper()
	v, _ := crdsInstalled.LoadOrStore(e.KubeconfigPath, &crdInstall{})
	in := v.(*crdInstall)
	in.once.Do(func() { in.err = e.installCRDs() })
	if in.err != nil {
		t.Fatalf("testenv: install soll CRDs: %v", in.err)
	}
}

func (e *Env) installCRDs() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	docs, err := crd.CRDs()
	if err != nil {
		return err
	}
	var names []string
	var kinds []schema.GroupVersionKind
	for _, doc := range docs {
		var c apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(doc, &c); err != nil {
			return fmt.Errorf("parse CRD: %w", err)
		}
		c.TypeMeta.APIVersion = apiextensionsv1.SchemeGroupVersion.String()
		c.TypeMeta.Kind = "CustomResourceDefinition"
		if err := e.Client.Patch(ctx, &c, client.Apply, client.FieldOwner("soll-testenv"), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply CRD %s: %w", c.Name, err)
		}
		names = append(names, c.Name)
		kinds = append(kinds, schema.GroupVersionKind{Group: c.Spec.Group, Version: c.Spec.Versions[0].Name, Kind: c.Spec.Names.Kind})
	}
	for _, name := range names {
		err := Eventually(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
			var c apiextensionsv1.CustomResourceDefinition
			if err := e.Client.Get(ctx, client.ObjectKey{Name: name}, &c); err != nil {
				return false, err
			}
			for _, cond := range c.Status.Conditions {
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
	// until the client maps each kind, so a test's first request does not
	// fail with "no matches for kind".
	for _, gvk := range kinds {
		err := Eventually(ctx, 100*time.Millisecond, func(context.Context) (bool, error) {
			_, err := e.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
			return err == nil, err
		})
		if err != nil {
			return fmt.Errorf("kind %s is not served after its CRD became Established: %w", gvk, err)
		}
	}
	return nil
}
