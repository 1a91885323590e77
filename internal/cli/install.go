package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"soll.dev/config/install"
)

// installFieldManager owns the fields soll install --apply sets.
const installFieldManager = "soll-install"

func newInstallCommand() *cobra.Command {
	var kf kubeFlags
	var image string
	var apply bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Print the manifests that install soll, or apply them with --apply",
		Long: "Print the manifests that install soll as multi-document YAML: the CRDs, the namespace (-n), " +
			"a ServiceAccount, RBAC, a Deployment running soll run and a Service (port 8080, named http) in front of its API.\n" +
			"The ClusterRole lets the controller manage every kind in the cluster; read its comments to narrow it.\n" +
			"With --apply, apply them to the cluster of your kubeconfig with server-side apply (field manager " + installFieldManager + ").",
		Example: "  soll install | kubectl apply --server-side -f -\n  soll install --apply -n soll --image ghcr.io/example/soll:v0.1.0",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := install.Options{Namespace: kf.namespace, Image: image}
			if !apply {
				docs, err := install.Manifests(opts)
				if err != nil {
					return fmt.Errorf("soll install: %w", err)
				}
				return install.WriteYAML(cmd.OutOrStdout(), docs)
			}
			if timeout <= 0 {
				return fmt.Errorf("--timeout %s: must be positive", timeout)
			}
			objs, err := install.Objects(opts)
			if err != nil {
				return fmt.Errorf("soll install: %w", err)
			}
			c, err := kf.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := applyInstall(ctx, c, objs, cmd.OutOrStdout()); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "soll installed in namespace %s: create an app with soll app create -n %s\n", kf.namespace, kf.namespace)
			return err
		},
	}
	kf.register(cmd, "namespace to install soll into")
	cmd.Flags().StringVar(&image, "image", install.DefaultImage, "container image that runs soll")
	cmd.Flags().BoolVar(&apply, "apply", false, "apply the manifests to the cluster instead of printing them")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long --apply waits for the CRDs to be established")
	return cmd
}

// applyInstall applies the CRDs, waits until the API server serves them,
// then applies the other objects in order.
func applyInstall(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, out io.Writer) error {
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
		if err := waitEstablished(ctx, c, o.GetName()); err != nil {
			return err
		}
	}
	return applyAll(ctx, c, rest, out)
}

func applyAll(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, out io.Writer) error {
	for _, o := range objs {
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner(installFieldManager), client.ForceOwnership)
		if err != nil {
			return fmt.Errorf("apply %s %s: %w: installing soll needs the rights to create CRDs and RBAC (cluster-admin)", o.GetKind(), o.GetName(), err)
		}
		if _, err := fmt.Fprintf(out, "%s %s applied\n", o.GetKind(), o.GetName()); err != nil {
			return err
		}
	}
	return nil
}

// waitEstablished waits until the CRD name is Established, which means the
// API server serves its resource.
func waitEstablished(ctx context.Context, c client.Client, name string) error {
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
