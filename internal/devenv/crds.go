package devenv

import (
	"context"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"soll.dev/config/crd"
)

// InstallCRDs creates soll's CRDs (existing ones are left as they are) and
// waits until each is Established. c must know apiextensions/v1.
func InstallCRDs(ctx context.Context, c client.Client) error {
	docs, err := crd.CRDs()
	if err != nil {
		return err
	}
	for _, doc := range docs {
		var def apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(doc, &def); err != nil {
			return fmt.Errorf("parse CRD: %w", err)
		}
		if err := c.Create(ctx, &def); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("install CRD %s: %w", def.Name, err)
		}
		if err := waitEstablished(ctx, c, def.Name); err != nil {
			return err
		}
	}
	return nil
}

func waitEstablished(ctx context.Context, c client.Client, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		var got apiextensionsv1.CustomResourceDefinition
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &got); err == nil {
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not Established: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
