package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
)

// listPageSize is how many Applications one List request returns; the
// list is read in pages so that thousands of apps neither time out nor
// hold the API server's memory.
const listPageSize = 500

// appCmd holds what every `soll app` subcommand shares: the kubeconfig and
// namespace flags and, once made, the client. Until soll's API server
// exists, these commands read and write Application objects directly with
// the user's own Kubernetes credentials.
type appCmd struct {
	kubeFlags
	c client.Client
}

func newAppCommand() *cobra.Command {
	a := &appCmd{}
	cmd := &cobra.Command{
		Use:     "app",
		Aliases: []string{"apps", "application"},
		Short:   "Manage Applications directly through the Kubernetes API",
		Long: "Manage Applications directly through the Kubernetes API, with the credentials of your kubeconfig.\n" +
			"The Applications live in soll's namespace (-n, default $SOLL_NAMESPACE, then soll).",
		Args: cobra.NoArgs,
	}
	a.register(cmd, "soll's namespace, where Applications live")
	cmd.AddCommand(
		a.listCommand(), a.getCommand(), a.historyCommand(), a.resourcesCommand(),
		a.createCommand(), a.setCommand(), a.deleteCommand(),
		a.syncCommand(), a.waitCommand(), a.refreshCommand(),
		a.rollbackCommand(), a.unpinCommand(), a.terminateOpCommand(),
	)
	return cmd
}

// kube returns the client, creating it on first use so that flag errors
// are reported before the kubeconfig is read.
func (a *appCmd) kube() (client.Client, error) {
	if a.c != nil {
		return a.c, nil
	}
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	a.c = c
	return c, nil
}

func (a *appCmd) key(name string) client.ObjectKey {
	return client.ObjectKey{Namespace: a.namespace, Name: name}
}

// get reads the Application name.
func (a *appCmd) get(ctx context.Context, name string) (*sollv1.Application, error) {
	c, err := a.kube()
	if err != nil {
		return nil, err
	}
	app := &sollv1.Application{}
	if err := c.Get(ctx, a.key(name), app); err != nil {
		return nil, apiError("get", "application "+name, a.namespace, err)
	}
	return app, nil
}

// patchApp changes the Application name: it reads it, lets build compute a
// JSON merge patch from what it read, and sends the patch to the object, or
// to its status subresource when status is true. The patch carries the
// resourceVersion read, so that a concurrent change (by the controller, for
// example) makes the API server refuse it; then the whole read-modify-write
// is retried, and build sees the new state. A nil patch means there is
// nothing to change. The returned Application is the patched one.
func (a *appCmd) patchApp(ctx context.Context, verb, name string, status bool, build func(*sollv1.Application) (map[string]any, error)) (*sollv1.Application, error) {
	c, err := a.kube()
	if err != nil {
		return nil, err
	}
	var app *sollv1.Application
	var buildErr error
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if app, buildErr = a.get(ctx, name); buildErr != nil {
			return nil
		}
		var patch map[string]any
		if patch, buildErr = build(app); buildErr != nil || patch == nil {
			return nil
		}
		meta, _ := patch["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			patch["metadata"] = meta
		}
		meta["resourceVersion"] = app.ResourceVersion
		b, err := json.Marshal(patch)
		if err != nil {
			return err
		}
		p := client.RawPatch(types.MergePatchType, b)
		if status {
			return c.Status().Patch(ctx, app, p)
		}
		return c.Patch(ctx, app, p)
	})
	if buildErr != nil {
		return nil, buildErr
	}
	if err != nil {
		return nil, apiError(verb, "application "+name, a.namespace, err)
	}
	return app, nil
}

// listApps lists all Applications in ns, pageSize at a time, sorted by name.
func listApps(ctx context.Context, c client.Client, ns string, pageSize int64) ([]sollv1.Application, error) {
	var apps []sollv1.Application
	cont := ""
	for {
		var page sollv1.ApplicationList
		if err := c.List(ctx, &page, client.InNamespace(ns), client.Limit(pageSize), client.Continue(cont)); err != nil {
			return nil, apiError("list", "applications", ns, err)
		}
		apps = append(apps, page.Items...)
		if cont = page.Continue; cont == "" {
			break
		}
	}
	slices.SortFunc(apps, func(x, y sollv1.Application) int { return strings.Compare(x.Name, y.Name) })
	return apps, nil
}

func (a *appCmd) listCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List Applications with their sync and health status",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := a.kube()
			if err != nil {
				return err
			}
			apps, err := listApps(cmd.Context(), c, a.namespace, listPageSize)
			if err != nil {
				return err
			}
			if output != outputTable {
				list := &sollv1.ApplicationList{Items: apps}
				return printObject(cmd.OutOrStdout(), output, list)
			}
			if len(apps) == 0 {
				_, err := fmt.Fprintf(cmd.ErrOrStderr(), "no applications in namespace %s: create one with soll app create -n %s\n", a.namespace, a.namespace)
				return err
			}
			return writeAppTable(cmd.OutOrStdout(), apps)
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

func (a *appCmd) getCommand() *cobra.Command {
	return a.viewCommand("get NAME", "Show an Application: source, destination, status, operation, history and resources",
		func(app *sollv1.Application) any { return app },
		func(cmd *cobra.Command, app *sollv1.Application) error {
			return writeAppSummary(cmd.OutOrStdout(), app)
		})
}

func (a *appCmd) historyCommand() *cobra.Command {
	return a.viewCommand("history NAME", "List the past syncs of an Application, the targets of soll app rollback",
		func(app *sollv1.Application) any { return app.Status.History },
		func(cmd *cobra.Command, app *sollv1.Application) error {
			if len(app.Status.History) == 0 {
				return noItems(cmd, app, "has no history yet: it is recorded by each successful sync")
			}
			return writeHistoryTable(cmd.OutOrStdout(), "", app.Status.History)
		})
}

func (a *appCmd) resourcesCommand() *cobra.Command {
	return a.viewCommand("resources NAME", "List the objects an Application manages, with their sync and health status",
		func(app *sollv1.Application) any { return app.Status.Resources },
		func(cmd *cobra.Command, app *sollv1.Application) error {
			if len(app.Status.Resources) == 0 {
				return noItems(cmd, app, "reports no resources yet: is the soll controller running?")
			}
			return writeResourceTable(cmd.OutOrStdout(), "", app.Status.Resources)
		})
}

// viewCommand builds a command that reads one Application and shows it, or
// a part of it: value is what -o json and -o yaml print, table writes the
// human-readable form.
func (a *appCmd) viewCommand(use, short string, value func(*sollv1.Application) any, table func(*cobra.Command, *sollv1.Application) error) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			app, err := a.get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if output == outputTable {
				return table(cmd, app)
			}
			if obj, ok := value(app).(runtime.Object); ok {
				return printObject(cmd.OutOrStdout(), output, obj)
			}
			return printValue(cmd.OutOrStdout(), output, value(app))
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

// noItems tells the user on stderr why a list is empty, keeping stdout
// empty for scripts.
func noItems(cmd *cobra.Command, app *sollv1.Application, why string) error {
	_, err := fmt.Fprintf(cmd.ErrOrStderr(), "application %s %s\n", app.Name, why)
	return err
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

// username is who operations are recorded as initiated by.
func username() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}
