package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"soll.dev/internal/auth"
)

// newAdminCommand groups the commands for operators of a soll
// installation, which work on its configuration rather than on
// Applications.
func newAdminCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Check and manage the configuration of a soll installation",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newAdminRBACCommand(&rbacCmd{}), newInitialPasswordCommand(), newAdminHealthCommand(), newAdminImportCommand(), newAdminExportCommand())
	return cmd
}

// newInitialPasswordCommand prints the initial password of the admin
// account, which `soll run` creates at its first start.
func newInitialPasswordCommand() *cobra.Command {
	var kf kubeFlags
	cmd := &cobra.Command{
		Use:   "initial-password",
		Short: "Print the initial password of the admin account",
		Long: "Print the initial password of the admin account, created by soll at its first start in the Secret " +
			auth.InitialAdminSecretName + ". Change it after the first login, then delete the Secret.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := kf.client()
			if err != nil {
				return err
			}
			var s corev1.Secret
			key := client.ObjectKey{Namespace: kf.namespace, Name: auth.InitialAdminSecretName}
			if err := c.Get(cmd.Context(), key, &s); err != nil {
				if apierrors.IsNotFound(err) {
					return fmt.Errorf("the Secret %s was not found: soll has not started yet in namespace %s, or the Secret was deleted after the password was changed", key, kf.namespace)
				}
				return fmt.Errorf("read Secret %s: %w", key, err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), string(s.Data["password"]))
			return err
		},
	}
	kf.register(cmd, "soll's namespace")
	return cmd
}
