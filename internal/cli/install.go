package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"soll.dev/config/install"
)

func newInstallCommand() *cobra.Command {
	var kf kubeFlags
	var image string
	var pullSecrets []string
	var replicas int
	var apply bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Print the manifests that install soll, or apply them with --apply",
		Long: "Print the manifests that install soll as multi-document YAML: the CRDs, the namespace (-n), " +
			"a ServiceAccount, RBAC, a Deployment running soll run and a Service (port 8080, named http) in front of its API.\n" +
			"With --replicas above 1, the replicas share the applications out (soll run --shard: each runs the apps that hash to it), all serve the API, and a PodDisruptionBudget lets one pod at a time be evicted.\n" +
			"The ClusterRole lets the controller manage every kind in the cluster; read its comments to narrow it.\n" +
			"With --apply, apply them to the cluster of your kubeconfig with server-side apply (field manager " + install.FieldManager + ").",
		Example: "  soll install | kubectl apply --server-side -f -\n  soll install --apply -n soll --image ghcr.io/example/soll:v0.1.0\n  soll install --apply -n soll --image registry.example.com/soll@sha256:... --image-pull-secret regcred",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if replicas < 1 {
				return fmt.Errorf("--replicas %d: give 1 or more", replicas)
			}
			opts := install.Options{Namespace: kf.namespace, Image: image, ImagePullSecrets: pullSecrets, Replicas: replicas}
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
			if err := install.Apply(ctx, c, objs, cmd.OutOrStdout()); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "soll installed in namespace %s: create an app with soll app create -n %s\n", kf.namespace, kf.namespace)
			return err
		},
	}
	kf.register(cmd, "namespace to install soll into")
	cmd.Flags().StringVar(&image, "image", install.DefaultImage, "container image that runs soll")
	cmd.Flags().StringArrayVar(&pullSecrets, "image-pull-secret", nil, "Secret of the namespace with the credentials of the image's private registry (kubernetes.io/dockerconfigjson; repeatable)")
	cmd.Flags().IntVar(&replicas, "replicas", 1, "pods of soll; above 1 they share the applications out (sharding), serve the API together and get a PodDisruptionBudget")
	cmd.Flags().BoolVar(&apply, "apply", false, "apply the manifests to the cluster instead of printing them")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long --apply waits for the CRDs to be established")
	return cmd
}
