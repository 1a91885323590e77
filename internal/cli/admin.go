package cli

import "github.com/spf13/cobra"

// newAdminCommand groups the commands for operators of a soll
// installation, which work on its configuration rather than on
// Applications.
func newAdminCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Check and manage the configuration of a soll installation",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newAdminRBACCommand(&rbacCmd{}))
	return cmd
}
