// Package cli holds the soll command tree: the long-running modes
// (controller, server, run) and the verbs that talk to the server's API.
//
// The verbs find the server and a token in the contexts of the CLI's
// configuration file (soll login saves them), or in flags and the
// environment. The app commands work on an appBackend: soll's API when a
// server is configured, the Kubernetes API with the user's kubeconfig
// otherwise (--core); reading, printing and waiting are shared.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"soll.dev/internal/apitypes"
	"soll.dev/internal/version"
)

// Run executes the soll command line with args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return run(ctx, newGlobals(os.Stdin), args, stdout, stderr)
}

func run(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	root := newRootCommand(g)
	root.SetArgs(args)
	root.SetIn(g.stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

func newGlobals(stdin io.Reader) *globals {
	return &globals{stdin: stdin, openBrowser: openBrowser}
}

// ExitError is an error with its own exit status: soll app diff exits 1
// when the app differs from Git and 2 when it cannot tell. An ExitError
// without Err has nothing to print.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the exit status for the error a command returned: 0 for
// none, an ExitError's own, else 1.
func ExitCode(err error) int {
	var e *ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return e.Code
	}
	return 1
}

// NewRootCommand builds the full command tree.
func NewRootCommand() *cobra.Command { return newRootCommand(newGlobals(os.Stdin)) }

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "soll",
		Short:         "soll keeps Kubernetes clusters in step with Git",
		Long:          "soll is a GitOps continuous-delivery system: it renders the manifests in Git, shows what differs from the cluster, and syncs them.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	g.register(root)
	root.AddCommand(newVersionCommand(g), newControllerCommand(), newRunCommand(), newServerCommand(), newAppCommand(g),
		newInstallCommand(), newAdminCommand(), newLoginCommand(g), newLogoutCommand(g), newContextCommand(g),
		newProjCommand(g), newRepoCommand(g), newClusterCommand(g), newAccountCommand(g))
	return root
}

// versions is what soll version -o json prints: the CLI's own identity
// and, with a server configured, the server's.
type versions struct {
	version.Info
	Server *serverVersion `json:"server,omitempty"`
}

type serverVersion struct {
	URL string `json:"url"`
	apitypes.VersionInfo
}

func newVersionCommand(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of soll, and of the server when one is configured",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("unknown output format %q for --output: use text or json", output)
			}
			v := versions{Info: version.Get()}
			t, err := g.target(cmd)
			if err != nil {
				return err
			}
			var serverErr error
			if t != nil {
				serverErr = func() error {
					c, err := t.client()
					if err != nil {
						return err
					}
					sv, err := c.Version(cmd.Context())
					if err != nil {
						return fmt.Errorf("server version: %w", err)
					}
					v.Server = &serverVersion{URL: t.server, VersionInfo: *sv}
					return nil
				}()
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(v); err != nil {
					return err
				}
				return serverErr
			}
			if _, err := fmt.Fprintln(out, v.Info.String()); err != nil {
				return err
			}
			if v.Server != nil {
				if _, err := fmt.Fprintf(out, "server %s: %s\n", v.Server.URL, v.Server.Info.String()); err != nil {
					return err
				}
			}
			return serverErr
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
