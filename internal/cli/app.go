package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apiclient"
)

// appCmd holds what every `soll app` subcommand shares: the flags that
// choose where Applications are read and written, and, once made, the
// backend there.
type appCmd struct {
	g *globals
	kubeFlags
	core bool
	be   appBackend
}

func newAppCommand(g *globals) *cobra.Command {
	a := &appCmd{g: g}
	cmd := &cobra.Command{
		Use:     "app",
		Aliases: []string{"apps", "application"},
		Short:   "Manage Applications",
		Long: "Manage Applications through soll's API server, or directly through the Kubernetes API.\n\n" +
			"With a server configured (the current context of soll login, --server or $" + ServerEnv + "), the commands talk to its API: " +
			"it checks your RBAC permissions and the Projects' rules and records who asked for each operation.\n" +
			"Without one, or with --core (also implied by --kubeconfig or -n), they read and write the Application objects " +
			"directly with the credentials of your kubeconfig, in soll's namespace (-n, default $SOLL_NAMESPACE, then soll).",
		Args: cobra.NoArgs,
	}
	a.register(cmd, "soll's namespace, where Applications live (--core mode)")
	cmd.PersistentFlags().BoolVar(&a.core, "core", false, "talk to the Kubernetes API directly with your kubeconfig instead of soll's API server")
	cmd.AddCommand(
		a.listCommand(), a.getCommand(), a.historyCommand(), a.resourcesCommand(),
		a.createCommand(), a.setCommand(), a.deleteCommand(),
		a.syncCommand(), a.waitCommand(), a.refreshCommand(),
		a.rollbackCommand(), a.unpinCommand(), a.terminateOpCommand(),
		a.diffCommand(), a.manifestsCommand(), a.treeCommand(), a.eventsCommand(),
	)
	return cmd
}

// backend returns where the commands work, choosing it on first use so
// that flag errors come before any connection: the Kubernetes API with
// --core, --kubeconfig or -n, or when no server is configured; soll's API
// otherwise.
func (a *appCmd) backend(cmd *cobra.Command) (appBackend, error) {
	if a.be != nil {
		return a.be, nil
	}
	kubeFlagsGiven := cmd.Flags().Changed("kubeconfig") || cmd.Flags().Changed("namespace")
	core := a.core || kubeFlagsGiven
	var t *target
	if !core {
		var err error
		if t, err = a.g.target(cmd); err != nil {
			return nil, err
		}
		core = t == nil
	} else if a.g.server != "" || a.g.authToken != "" {
		return nil, fmt.Errorf("--server and --auth-token choose soll's API, and --core, --kubeconfig or -n the Kubernetes API: give one or the other")
	}
	if core {
		c, err := a.client()
		if err != nil {
			return nil, err
		}
		a.be = &coreBackend{c: c, ns: a.namespace}
		return a.be, nil
	}
	c, err := t.client()
	if err != nil {
		return nil, err
	}
	a.be = &apiBackend{c: c}
	return a.be, nil
}

// completeApp completes an app name as the first argument: one list
// request, bounded in time, and nothing at all if it fails.
func (a *appCmd) completeApp(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	return completeFirst(cmd, args, func(ctx context.Context) ([]string, error) {
		be, err := a.backend(cmd)
		if err != nil {
			return nil, err
		}
		apps, err := be.list(ctx, apiclient.ListOptions{})
		return appNames(apps), err
	})
}

// nameCommand is a command whose arguments start with an app NAME, which
// the shell completes.
func (a *appCmd) nameCommand(cmd *cobra.Command) *cobra.Command {
	cmd.ValidArgsFunction = a.completeApp
	return cmd
}

// listFlags are the filters of soll app list.
type listFlags struct {
	projects, syncStatuses, healths, namespaces []string
	selector, search, sort                      string
}

func (a *appCmd) listCommand() *cobra.Command {
	var f listFlags
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List Applications with their sync and health status",
		Example: "  soll app list --sync-status OutOfSync --project team-a\n  soll app list -o name --health Degraded,Missing",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			be, err := a.backend(cmd)
			if err != nil {
				return err
			}
			apps, err := be.list(cmd.Context(), apiclient.ListOptions{
				Projects: f.projects, SyncStatuses: f.syncStatuses, Healths: f.healths, Namespaces: f.namespaces,
				Selector: f.selector, Search: f.search, Sort: f.sort,
			})
			if err != nil {
				return err
			}
			return view{
				value: &sollv1.ApplicationList{Items: apps},
				empty: len(apps) == 0,
				none:  fmt.Sprintf("no applications %s match (or none you may see): create one with soll app create%s", be.where(), be.flags()),
				table: func(w io.Writer, wide bool) error { return writeAppTable(w, apps, wide) },
				names: func() []string { return appNames(apps) },
			}.print(cmd, output)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.projects, "project", nil, "only apps of these projects (comma-separated or repeated)")
	fl.StringSliceVar(&f.syncStatuses, "sync-status", nil, "only apps with these sync statuses: Synced, OutOfSync, Unknown")
	fl.StringSliceVar(&f.healths, "health", nil, "only apps with these health statuses: Healthy, Progressing, Degraded, Suspended, Missing, Unknown")
	fl.StringSliceVar(&f.namespaces, "dest-namespace", nil, "only apps deploying to these namespaces")
	fl.StringVarP(&f.selector, "selector", "l", "", "only apps whose labels match this label selector")
	fl.StringVar(&f.search, "search", "", "only apps whose name contains this text")
	fl.StringVar(&f.sort, "sort", "", "order: name (default), syncedAt or health (needs the API); prefix - to reverse")
	addOutputFlag(cmd, &output)
	return cmd
}

func appNames(apps []sollv1.Application) []string {
	out := make([]string, len(apps))
	for i := range apps {
		out[i] = apps[i].Name
	}
	return out
}

// showCommand completes cmd into a command that reads something about
// the app NAME with show and prints it in the format of -o.
func (a *appCmd) showCommand(cmd *cobra.Command, show func(ctx context.Context, be appBackend, name string) (view, error)) *cobra.Command {
	var output string
	cmd.Args = exactlyArgs("NAME")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkOutput(output); err != nil {
			return err
		}
		be, err := a.backend(cmd)
		if err != nil {
			return err
		}
		v, err := show(cmd.Context(), be, args[0])
		if err != nil {
			return err
		}
		return v.print(cmd, output)
	}
	addOutputFlag(cmd, &output)
	return a.nameCommand(cmd)
}

func (a *appCmd) getCommand() *cobra.Command {
	return a.showCommand(&cobra.Command{
		Use:   "get NAME",
		Short: "Show an Application: source, destination, status, operation, history and resources",
	}, func(ctx context.Context, be appBackend, name string) (view, error) {
		app, err := be.get(ctx, name)
		if err != nil {
			return view{}, err
		}
		return view{
			value: app,
			table: func(w io.Writer, _ bool) error { return writeAppSummary(w, app) },
			names: func() []string { return []string{app.Name} },
		}, nil
	})
}

func (a *appCmd) historyCommand() *cobra.Command {
	return a.showCommand(&cobra.Command{
		Use:   "history NAME",
		Short: "List the past syncs of an Application, the targets of soll app rollback",
	}, func(ctx context.Context, be appBackend, name string) (view, error) {
		h, err := be.history(ctx, name)
		return view{
			value: nonNil(h),
			empty: len(h) == 0,
			none:  "application " + name + " has no history yet: it is recorded by each successful sync",
			table: func(w io.Writer, wide bool) error { return writeHistoryTable(w, h, wide) },
			names: func() []string { return historyIDs(h) },
		}, err
	})
}

func (a *appCmd) resourcesCommand() *cobra.Command {
	return a.showCommand(&cobra.Command{
		Use:   "resources NAME",
		Short: "List the objects an Application manages, with their sync and health status",
	}, func(ctx context.Context, be appBackend, name string) (view, error) {
		res, err := be.resources(ctx, name)
		return view{
			value: nonNil(res),
			empty: len(res) == 0,
			none:  noResources(name),
			table: func(w io.Writer, wide bool) error { return writeResourceTable(w, res, wide) },
			names: func() []string { return resourceStatusIDs(res) },
		}, err
	})
}

func noResources(name string) string {
	return "application " + name + " reports no resources yet: is the soll controller running?"
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// exactlyArgs is cobra.ExactArgs with an error that names the arguments.
func exactlyArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return fmt.Errorf("%s takes %d argument(s), %s, got %d: see %s --help",
				cmd.Name(), len(names), strings.Join(names, " "), len(args), cmd.CommandPath())
		}
		return nil
	}
}

// username is who operations are recorded as initiated by in --core
// mode; the API server records the logged-in user itself.
func username() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}
