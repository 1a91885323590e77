// Package cli holds the soll command tree: the long-running modes
// (controller, server, run) and the verbs that talk to the server's API.
package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"soll.dev/internal/version"
)

// Run executes the soll command line with args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := NewRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// NewRootCommand builds the full command tree.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "soll",
		Short:         "soll keeps Kubernetes clusters in step with Git",
		Long:          "soll is a GitOps continuous-delivery system: it renders the manifests in Git, shows what differs from the cluster, and syncs them.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCommand(), newControllerCommand(), newRunCommand(), newServerCommand(), newAppCommand(), newInstallCommand(), newAdminCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of soll",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			switch output {
			case "", "text":
				_, err := fmt.Fprintln(cmd.OutOrStdout(), info.String())
				return err
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			default:
				return fmt.Errorf("unknown output format %q for --output: use text or json", output)
			}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
