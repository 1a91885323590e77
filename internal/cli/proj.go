package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apiclient"
)

// projCmd holds what every soll proj subcommand shares.
type projCmd struct {
	apiCmd
}

func newProjCommand(g *globals) *cobra.Command {
	p := &projCmd{apiCmd{g: g}}
	cmd := &cobra.Command{
		Use:     "proj",
		Aliases: []string{"project", "projects"},
		Short:   "Manage Projects: the repositories, destinations and kinds their Applications may use, roles and sync windows",
		Long: "Manage Projects through soll's API server (log in with soll login first).\n\n" +
			"The commands that change one list of a Project (add-source, add-destination, role add-policy, windows add ...) " +
			"read the Project, change that list and write it back only if nobody changed the Project meanwhile; " +
			"if someone did, nothing is written and the command says to run it again.",
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(
		p.listCommand(), p.getCommand(), p.createCommand(), p.setCommand(), p.deleteCommand(),
		p.sourceCommand(true), p.sourceCommand(false),
		p.destinationCommand(true), p.destinationCommand(false),
		p.resourceCommand(true, false), p.resourceCommand(false, false),
		p.resourceCommand(true, true), p.resourceCommand(false, true),
		p.windowsCommand(), p.roleCommand(),
	)
	return cmd
}

// nameCommand is a command whose first argument is a project name, which
// the shell completes.
func (p *projCmd) nameCommand(cmd *cobra.Command) *cobra.Command {
	cmd.ValidArgsFunction = p.completeNames(func(ctx context.Context, c *apiclient.Client) ([]string, error) {
		ps, err := c.ListProjects(ctx)
		return projectNames(ps), err
	})
	return cmd
}

func projectNames(ps []sollv1.Project) []string {
	out := make([]string, len(ps))
	for i := range ps {
		out[i] = ps[i].Name
	}
	return out
}

func (p *projCmd) get(cmd *cobra.Command, name string) (*apiclient.Client, *sollv1.Project, error) {
	c, err := p.client(cmd)
	if err != nil {
		return nil, nil, err
	}
	proj, err := c.GetProject(cmd.Context(), name)
	return c, proj, kindProject.err(c, "get", name, err)
}

// errUnchanged is what a change returns when the Project is as asked
// already: nothing is written, and the command succeeds.
var errUnchanged = errors.New("unchanged")

// edit reads project name, applies change, and writes the Project back
// with the resourceVersion it was read at, so that a change made by
// someone else meanwhile is never overwritten: the write fails, and the
// user runs the command again. change returns what it did, for the
// message; when it returns errUnchanged, nothing is written and the
// message is unchanged.
func (p *projCmd) edit(cmd *cobra.Command, name string, change func(*sollv1.Project) (string, error), unchanged string) error {
	c, proj, err := p.get(cmd, name)
	if err != nil {
		return err
	}
	msg, err := change(proj)
	switch {
	case errors.Is(err, errUnchanged):
		return say(cmd, "project %s %s: nothing to do", name, unchanged)
	case err != nil:
		return err
	}
	_, err = c.UpdateProject(cmd.Context(), proj)
	if apiclient.IsConflict(err) {
		return fmt.Errorf("project %s changed meanwhile (between this command's read and its write), so nothing was written: run the command again", name)
	}
	if err != nil {
		return kindProject.err(c, "update", name, err)
	}
	return say(cmd, "project %s: %s", name, msg)
}

func (p *projCmd) listCommand() *cobra.Command {
	return p.viewCommand(&cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List Projects with their sources, destinations, roles and sync windows",
		Args:    cobra.NoArgs,
	}, func(cmd *cobra.Command, _ []string, c *apiclient.Client) (view, error) {
		ps, err := c.ListProjects(cmd.Context())
		return view{
			value: &sollv1.ProjectList{Items: ps},
			empty: len(ps) == 0,
			none:  "no projects on soll at " + c.Server() + " (or none you may see): create one with soll proj create NAME",
			table: func(w io.Writer, wide bool) error { return writeProjectTable(w, ps, wide) },
			names: func() []string { return projectNames(ps) },
		}, kindProject.err(c, "list", "", err)
	})
}

// projectCommand completes cmd into a command that shows what show
// returns about the project named by its first argument.
func (p *projCmd) projectCommand(cmd *cobra.Command, show func(proj *sollv1.Project) view) *cobra.Command {
	return p.nameCommand(p.viewCommand(cmd, func(cmd *cobra.Command, args []string, _ *apiclient.Client) (view, error) {
		_, proj, err := p.get(cmd, args[0])
		if err != nil {
			return view{}, err
		}
		return show(proj), nil
	}))
}

func (p *projCmd) getCommand() *cobra.Command {
	return p.projectCommand(&cobra.Command{
		Use:   "get NAME",
		Short: "Show a Project: sources, destinations, kinds, roles with their tokens, sync windows and conditions",
		Args:  exactlyArgs("NAME"),
	}, func(proj *sollv1.Project) view {
		return view{
			value: proj,
			table: func(w io.Writer, _ bool) error { return writeProjectSummary(w, proj) },
			names: func() []string { return []string{proj.Name} },
		}
	})
}

// projFlags are the flags of soll proj create and set.
type projFlags struct {
	description      string
	sources          []string
	destinations     []string
	sourceNamespaces []string
	orphanedWarn     bool
	remoteBases      bool
}

func (f *projFlags) register(cmd *cobra.Command, verb string) {
	fl := cmd.Flags()
	fl.StringVar(&f.description, "description", "", "what the project is for")
	fl.StringArrayVar(&f.sources, "source", nil, verb+" the repository URLs apps may deploy from, as globs (repeat the flag; \"*\" for all, \"!URL\" denies)")
	fl.StringArrayVar(&f.destinations, "dest", nil, verb+" the destinations apps may deploy to: CLUSTER,NAMESPACE with globs, CLUSTER a server URL or a cluster name (repeat the flag; \"*,*\" for all)")
	fl.StringSliceVar(&f.sourceNamespaces, "source-namespace", nil, verb+" the namespaces besides soll's own that may hold the project's apps (globs)")
	fl.BoolVar(&f.orphanedWarn, "orphaned-resources-warn", false, "warn on apps whose destination namespace holds objects no app manages")
	fl.BoolVar(&f.remoteBases, "allow-remote-kustomize-bases", false, "let kustomizations name remote bases in Git repositories that --source allows")
}

// apply sets the fields whose flags were given (changed reports which)
// on spec, and reports whether any was.
func (f *projFlags) apply(spec *sollv1.ProjectSpec, changed func(string) bool) (bool, error) {
	set := false
	if changed("description") {
		spec.Description, set = f.description, true
	}
	if changed("source") {
		spec.SourceRepos, set = slices.Compact(f.sources), true
	}
	if changed("dest") {
		spec.Destinations = nil
		for _, d := range f.destinations {
			cluster, ns, ok := strings.Cut(d, ",")
			if !ok || cluster == "" || ns == "" || strings.Contains(ns, ",") {
				return false, fmt.Errorf("--dest %q: want CLUSTER,NAMESPACE, such as https://kubernetes.default.svc,team-a or in-cluster,team-a-*", d)
			}
			spec.Destinations = append(spec.Destinations, projectDestination(cluster, ns))
		}
		set = true
	}
	if changed("source-namespace") {
		spec.SourceNamespaces, set = f.sourceNamespaces, true
	}
	if changed("orphaned-resources-warn") {
		if spec.OrphanedResources == nil {
			spec.OrphanedResources = &sollv1.OrphanedResourcesMonitor{}
		}
		spec.OrphanedResources.Warn, set = f.orphanedWarn, true
	}
	if changed("allow-remote-kustomize-bases") {
		spec.AllowRemoteKustomizeBases, set = f.remoteBases, true
	}
	return set, nil
}

// projectDestination is the destination of a cluster given as a server
// URL (anything with "://", and "*") or as a cluster name.
func projectDestination(cluster, namespace string) sollv1.ProjectDestination {
	if cluster == "*" || strings.Contains(cluster, "://") {
		return sollv1.ProjectDestination{Server: cluster, Namespace: namespace}
	}
	return sollv1.ProjectDestination{Name: cluster, Namespace: namespace}
}

func (p *projCmd) createCommand() *cobra.Command {
	var f projFlags
	var output string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a Project",
		Long: "Create a Project. Without --source and --dest it allows no repository and no destination: " +
			"add them with soll proj add-source and add-destination.",
		Example: "  soll proj create team-a --description \"Team A's services\" \\\n" +
			"      --source 'https://git.example.com/team-a/*' --dest 'https://kubernetes.default.svc,team-a-*'",
		Args: exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			proj := &sollv1.Project{ObjectMeta: metav1.ObjectMeta{Name: args[0]}}
			if _, err := f.apply(&proj.Spec, cmd.Flags().Changed); err != nil {
				return err
			}
			c, err := p.client(cmd)
			if err != nil {
				return err
			}
			out, err := c.CreateProject(cmd.Context(), proj)
			var e *apiclient.Error
			if errors.As(err, &e) && e.Code == "AlreadyExists" {
				return fmt.Errorf("project %s already exists on soll at %s: change it with soll proj set, or delete it first with soll proj delete", proj.Name, c.Server())
			}
			if err != nil {
				return kindProject.err(c, "create", proj.Name, err)
			}
			return view{
				value: out,
				table: func(w io.Writer, _ bool) error {
					_, err := fmt.Fprintf(w, "project %s created on soll at %s: add apps to it with soll app create NAME --project %s ...\n", out.Name, c.Server(), out.Name)
					return err
				},
				names: func() []string { return []string{out.Name} },
			}.print(cmd, output)
		},
	}
	f.register(cmd, "set")
	addOutputFlag(cmd, &output)
	return cmd
}

func (p *projCmd) setCommand() *cobra.Command {
	var f projFlags
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Change a Project's description, and replace its sources, destinations or source namespaces",
		Long: "Change the fields of a Project whose flags are given; --source, --dest and --source-namespace replace the whole list " +
			"(add-source, add-destination and their remove- commands change one entry).",
		Example: "  soll proj set team-a --description \"Team A\" --orphaned-resources-warn",
		Args:    exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return p.edit(cmd, args[0], func(proj *sollv1.Project) (string, error) {
				set, err := f.apply(&proj.Spec, cmd.Flags().Changed)
				if err == nil && !set {
					err = errors.New("nothing to set: pass at least one of --description, --source, --dest, --source-namespace, --orphaned-resources-warn and --allow-remote-kustomize-bases")
				}
				return "updated", err
			}, "")
		},
	}
	f.register(cmd, "replace")
	return p.nameCommand(cmd)
}

func (p *projCmd) deleteCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a Project that no Application belongs to (--force: even if some do)",
		Args:  exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := p.client(cmd)
			if err != nil {
				return err
			}
			name := args[0]
			if !force {
				apps, err := c.ListApplications(cmd.Context(), apiclient.ListOptions{Projects: []string{name}})
				if err != nil {
					return kindProject.err(c, "list the applications of", name, err)
				}
				if len(apps) > 0 {
					return fmt.Errorf("project %s still has %d application(s): %s: their syncs would fail without it; move or delete them first, or pass --force",
						name, len(apps), strings.Join(appNames(apps), ", "))
				}
			}
			if err := c.DeleteProject(cmd.Context(), name); err != nil {
				return kindProject.err(c, "delete", name, err)
			}
			return say(cmd, "project %s deleted, and with it the tokens of its roles", name)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete the project even if applications belong to it")
	return p.nameCommand(cmd)
}

// writeProjectTable writes the table of soll proj list.
func writeProjectTable(w io.Writer, ps []sollv1.Project, wide bool) error {
	t := newTable(w, "", wide)
	t.row([]string{"NAME", "SOURCES", "DESTINATIONS", "ROLES", "WINDOWS", "DESCRIPTION"}, "CLUSTER KINDS", "NAMESPACE KINDS")
	for i := range ps {
		s := &ps[i].Spec
		roles := make([]string, len(s.Roles))
		for j, r := range s.Roles {
			roles[j] = r.Name
		}
		t.row([]string{ps[i].Name, strings.Join(s.SourceRepos, ","), destinationsText(s.Destinations), strings.Join(roles, ","),
			fmt.Sprint(len(s.SyncWindows)), s.Description},
			kindsText(s.ClusterResourceAllowList, s.ClusterResourceDenyList, "none"),
			kindsText(s.NamespaceResourceAllowList, s.NamespaceResourceDenyList, "all"))
	}
	return t.flush()
}

func destinationsText(ds []sollv1.ProjectDestination) string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = destinationCluster(d) + "," + d.Namespace
	}
	return strings.Join(out, " ")
}

// destinationCluster is the cluster of d as add-destination takes it.
func destinationCluster(d sollv1.ProjectDestination) string {
	if d.Server != "" {
		return d.Server
	}
	return d.Name
}

// kindsText describes an allow and a deny list of kinds; empty is what an
// empty allow list allows.
func kindsText(allow, deny []sollv1.GroupKind, empty string) string {
	text := empty
	if len(allow) > 0 {
		text = groupKindsText(allow)
	}
	if len(deny) > 0 {
		text += " except " + groupKindsText(deny)
	}
	return text
}

func groupKindsText(gks []sollv1.GroupKind) string {
	out := make([]string, len(gks))
	for i, gk := range gks {
		out[i] = groupKind(gk.Group, gk.Kind)
	}
	return strings.Join(out, ",")
}

// writeProjectSummary writes the human-readable view of soll proj get.
func writeProjectSummary(w io.Writer, p *sollv1.Project) error {
	s := &summary{w: w}
	sp := &p.Spec
	s.line(0, "Name", p.Name)
	s.line(0, "Description", sp.Description)
	s.line(0, "Sources", strings.Join(sp.SourceRepos, ", "))
	s.line(0, "Destinations", destinationsText(sp.Destinations))
	if len(sp.SourceNamespaces) > 0 {
		s.line(0, "App Namespaces", strings.Join(sp.SourceNamespaces, ", "))
	}
	s.line(0, "Cluster Kinds", kindsText(sp.ClusterResourceAllowList, sp.ClusterResourceDenyList, "none (the allow list is empty)"))
	s.line(0, "Namespace Kinds", kindsText(sp.NamespaceResourceAllowList, sp.NamespaceResourceDenyList, "all (the allow list is empty)"))
	if o := sp.OrphanedResources; o != nil && o.Warn {
		s.line(0, "Orphaned", "warn")
	}
	if sp.AllowRemoteKustomizeBases {
		s.line(0, "Remote Bases", "allowed (from sources only)")
	}
	if len(sp.Roles) > 0 {
		s.text("Roles:")
		if err := writeRoleTable(w, "  ", p, true); err != nil {
			return err
		}
	}
	if len(sp.SyncWindows) > 0 {
		s.text("Sync Windows:")
		if err := writeWindowTable(w, "  ", sp.SyncWindows); err != nil {
			return err
		}
	}
	if len(p.Status.Conditions) > 0 {
		s.text("Conditions:")
		t := newTable(w, "  ", false)
		for _, c := range p.Status.Conditions {
			t.row([]string{c.Type, string(c.Status), c.Reason, c.Message})
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	return s.err
}
