package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
)

// inClusterServer is the API server URL of the cluster soll runs in.
const inClusterServer = "https://kubernetes.default.svc"

// createFlags are the flags of soll app create.
type createFlags struct {
	repo, path, revision, credentials string
	destServer, destNamespace         string
	project                           string
	autoSync, selfHeal, autoPrune     bool
	createNamespace, cascade          bool
}

func (f *createFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", "", "URL of the Git repository (required)")
	fl.StringVar(&f.path, "path", "", `directory in the repository to deploy, relative to its root ("." for the root; required)`)
	fl.StringVar(&f.revision, "revision", "", "branch, tag or commit to deploy (default: HEAD, the default branch)")
	fl.StringVar(&f.credentials, "credentials", "", "repository Secret (soll repo list) with the credentials for --repo, saved for its URL and the app's project")
	fl.StringVar(&f.destServer, "dest-server", inClusterServer, "API server URL of the cluster to deploy to")
	fl.StringVar(&f.destNamespace, "dest-namespace", "", "namespace to deploy namespaced objects without a namespace to")
	fl.StringVar(&f.project, "project", "default", "Project the Application belongs to")
	fl.BoolVar(&f.autoSync, "auto-sync", false, "sync automatically when Git changes")
	fl.BoolVar(&f.selfHeal, "self-heal", false, "with --auto-sync: also sync when the live objects drift from Git")
	fl.BoolVar(&f.autoPrune, "auto-prune", false, "with --auto-sync: delete objects removed from Git")
	fl.BoolVar(&f.createNamespace, "create-namespace", false, "create the destination namespace when it does not exist")
	fl.BoolVar(&f.cascade, "cascade", true, "delete the Application's objects when it is deleted (adds the "+sollv1.ResourcesFinalizer+")")
	_ = cmd.MarkFlagRequired("repo")
	_ = cmd.MarkFlagRequired("path")
}

// application builds the Application the flags describe, or says which
// flags do not fit together.
func (f *createFlags) application(name, namespace string) (*sollv1.Application, error) {
	if f.repo == "" {
		return nil, errors.New("--repo is required: the URL of the Git repository to deploy from")
	}
	if (f.selfHeal || f.autoPrune) && !f.autoSync {
		return nil, errors.New("--self-heal and --auto-prune tune automated sync: add --auto-sync")
	}
	app := &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: sollv1.ApplicationSpec{
			Project: f.project,
			Source: &sollv1.ApplicationSource{
				RepoURL:        f.repo,
				Path:           f.path,
				TargetRevision: f.revision,
			},
			Destination: sollv1.ApplicationDestination{Server: f.destServer, Namespace: f.destNamespace},
		},
	}
	if f.credentials != "" {
		app.Spec.Source.CredentialsRef = &sollv1.LocalSecretReference{Name: f.credentials}
	}
	if f.autoSync || f.createNamespace {
		app.Spec.SyncPolicy = &sollv1.SyncPolicy{}
	}
	if f.autoSync {
		app.Spec.SyncPolicy.Automated = &sollv1.AutomatedSyncPolicy{Prune: f.autoPrune, SelfHeal: f.selfHeal}
	}
	if f.createNamespace {
		app.Spec.SyncPolicy.SyncOptions = &sollv1.SyncOptions{CreateNamespace: true}
	}
	if f.cascade {
		app.Finalizers = []string{sollv1.ResourcesFinalizer}
	}
	return app, nil
}

func (a *appCmd) createCommand() *cobra.Command {
	var f createFlags
	var output string
	cmd := &cobra.Command{
		Use:   "create NAME --repo URL --path PATH",
		Short: "Create an Application",
		Example: `  soll app create guestbook --repo https://github.com/example/apps.git --path guestbook \
      --dest-namespace guestbook --create-namespace --auto-sync --self-heal`,
		Args: exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			app, err := f.application(args[0], "")
			if err != nil {
				return err
			}
			be, err := a.backend(cmd)
			if err != nil {
				return err
			}
			if app, err = be.create(cmd.Context(), app, f.cascade); err != nil {
				return err
			}
			return showChanged(cmd, output, app, fmt.Sprintf("application %s created %s: follow it with soll app get %s%s",
				app.Name, be.where(), app.Name, be.flags()))
		},
	}
	f.register(cmd)
	addOutputFlag(cmd, &output)
	return cmd
}

// showChanged shows an app a command changed: the message, or the app in
// the other output formats.
func showChanged(cmd *cobra.Command, output string, app *sollv1.Application, msg string) error {
	return view{
		value: app,
		table: func(w io.Writer, _ bool) error { _, err := fmt.Fprintln(w, msg); return err },
		names: func() []string { return []string{app.Name} },
	}.print(cmd, output)
}

// setFlags are the flags of soll app set.
type setFlags struct {
	autoSync, selfHeal, autoPrune bool
	revision                      string
}

// patch computes the merge patch for app from the flags that were given
// (changed reports whether a flag was).
func (f *setFlags) patch(app *sollv1.Application, changed func(string) bool) (map[string]any, error) {
	if !changed("auto-sync") && !changed("self-heal") && !changed("auto-prune") && !changed("revision") {
		return nil, errors.New("nothing to set: pass at least one of --auto-sync, --self-heal, --auto-prune and --revision")
	}
	spec := map[string]any{}
	hasAutomated := app.Spec.SyncPolicy != nil && app.Spec.SyncPolicy.Automated != nil
	automated := map[string]any{}
	if changed("auto-sync") {
		automated["enabled"] = f.autoSync
	}
	for _, o := range []struct {
		flag, field string
		value       bool
	}{{"self-heal", "selfHeal", f.selfHeal}, {"auto-prune", "prune", f.autoPrune}} {
		if !changed(o.flag) {
			continue
		}
		if !hasAutomated && !(changed("auto-sync") && f.autoSync) {
			if !o.value {
				continue // nothing to turn off
			}
			return nil, fmt.Errorf("application %s has no automated sync, which --%s tunes: add --auto-sync", app.Name, o.flag)
		}
		automated[o.field] = o.value
	}
	if len(automated) > 0 {
		spec["syncPolicy"] = map[string]any{"automated": automated}
	}
	if changed("revision") {
		if app.Spec.Source == nil {
			return nil, fmt.Errorf("application %s has %d sources and --revision sets the revision of one: edit spec.sources with kubectl edit application %s -n %s",
				app.Name, len(app.Spec.Sources), app.Name, app.Namespace)
		}
		spec["source"] = map[string]any{"targetRevision": f.revision}
	}
	if len(spec) == 0 {
		return nil, nil
	}
	return map[string]any{"spec": spec}, nil
}

func (a *appCmd) setCommand() *cobra.Command {
	var f setFlags
	var output string
	cmd := &cobra.Command{
		Use:     "set NAME",
		Short:   "Change an Application's sync policy or target revision",
		Example: "  soll app set guestbook --auto-sync --self-heal\n  soll app set guestbook --revision v1.2.0",
		Args:    exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			be, err := a.backend(cmd)
			if err != nil {
				return err
			}
			app, err := patchApp(cmd.Context(), be, args[0], func(app *sollv1.Application) (map[string]any, error) {
				return f.patch(app, cmd.Flags().Changed)
			})
			if err != nil {
				return err
			}
			return showChanged(cmd, output, app, fmt.Sprintf("application %s updated: sync policy %s", app.Name, syncPolicyText(app.Spec.SyncPolicy)))
		},
	}
	cmd.Flags().BoolVar(&f.autoSync, "auto-sync", false, "turn automated sync on or off")
	cmd.Flags().BoolVar(&f.selfHeal, "self-heal", false, "turn self-heal of automated sync on or off")
	cmd.Flags().BoolVar(&f.autoPrune, "auto-prune", false, "turn pruning of automated sync on or off")
	cmd.Flags().StringVar(&f.revision, "revision", "", "set the source's target revision (branch, tag or commit)")
	addOutputFlag(cmd, &output)
	return a.nameCommand(cmd)
}

func (a *appCmd) deleteCommand() *cobra.Command {
	var cascade bool
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an Application, and with --cascade (the default) the objects it deployed",
		Args:  exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			be, err := a.backend(cmd)
			if err != nil {
				return err
			}
			name := args[0]
			if err := be.delete(cmd.Context(), name, cascade); err != nil {
				return err
			}
			what := "its objects are left in place"
			if cascade {
				what = "the controller deletes its objects first, then the Application"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "application %s deleted: %s\n", name, what)
			return err
		},
	}
	cmd.Flags().BoolVar(&cascade, "cascade", true, "delete the objects the Application deployed; false leaves them in place (orphaned)")
	return a.nameCommand(cmd)
}
