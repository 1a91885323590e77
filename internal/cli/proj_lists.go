package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/project"
)

// addOrRemove names the verb of a command that adds (add true) or
// removes an entry.
func addOrRemove(add bool, what string) string {
	if add {
		return "add-" + what
	}
	return "remove-" + what
}

// missing is the error of removing an entry a list does not have.
func missing(proj, what, entry, field string, have []string) error {
	return fmt.Errorf("project %s has no %s %s in %s (%s): nothing was changed", proj, what, entry, field, hasText(have))
}

func hasText(have []string) string {
	if len(have) == 0 {
		return "it has none"
	}
	return "it has " + strings.Join(have, ", ")
}

func (p *projCmd) sourceCommand(add bool) *cobra.Command {
	short := "Allow the project's apps to deploy from repositories matching URLGLOB"
	if !add {
		short = "Remove URLGLOB from the repositories the project's apps may deploy from"
	}
	return p.nameCommand(&cobra.Command{
		Use:     addOrRemove(add, "source") + " PROJECT URLGLOB",
		Short:   short,
		Example: "  soll proj " + addOrRemove(add, "source") + " team-a 'https://git.example.com/team-a/*'",
		Args:    exactlyArgs("PROJECT", "URLGLOB"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, src := args[0], args[1]
			return p.edit(cmd, name, func(proj *sollv1.Project) (string, error) {
				err := toggle(&proj.Spec.SourceRepos, src, add, nil, func() error {
					return missing(name, "source", src, "spec.sourceRepos", proj.Spec.SourceRepos)
				})
				return "source " + src + " " + addedOrRemoved(add), err
			}, "allows source "+src+" already")
		},
	})
}

func (p *projCmd) destinationCommand(add bool) *cobra.Command {
	short := "Allow the project's apps to deploy to NAMESPACE of CLUSTER (globs)"
	if !add {
		short = "Remove a destination from those the project's apps may deploy to"
	}
	return p.nameCommand(&cobra.Command{
		Use:   addOrRemove(add, "destination") + " PROJECT CLUSTER NAMESPACE",
		Short: short,
		Long: short + ". CLUSTER is an API server URL (anything with ://, and \"*\" for every cluster) or a cluster name; " +
			"both it and NAMESPACE are globs, and a NAMESPACE starting with ! denies the namespaces it matches.",
		Example: "  soll proj " + addOrRemove(add, "destination") + " team-a https://kubernetes.default.svc 'team-a-*'\n" +
			"  soll proj " + addOrRemove(add, "destination") + " team-a in-cluster team-a",
		Args: exactlyArgs("PROJECT", "CLUSTER", "NAMESPACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, dest := args[0], projectDestination(args[1], args[2])
			what := fmt.Sprintf("destination %s,%s", args[1], args[2])
			return p.edit(cmd, name, func(proj *sollv1.Project) (string, error) {
				err := toggle(&proj.Spec.Destinations, dest, add, nil, func() error {
					return missing(name, "destination", args[1]+","+args[2], "spec.destinations", strings.Fields(destinationsText(proj.Spec.Destinations)))
				})
				return what + " " + addedOrRemoved(add), err
			}, "allows "+what+" already")
		},
	})
}

// kindLists are the allow and deny lists of cluster-scoped or namespaced
// kinds of a Project.
type kindLists struct {
	allow, deny           *[]sollv1.GroupKind
	allowField, denyField string
}

func kindListsOf(spec *sollv1.ProjectSpec, namespaced bool) kindLists {
	if namespaced {
		return kindLists{&spec.NamespaceResourceAllowList, &spec.NamespaceResourceDenyList,
			"spec.namespaceResourceAllowList", "spec.namespaceResourceDenyList"}
	}
	return kindLists{&spec.ClusterResourceAllowList, &spec.ClusterResourceDenyList,
		"spec.clusterResourceAllowList", "spec.clusterResourceDenyList"}
}

// allowKind makes gk permitted with the smallest change: it leaves a
// permitted kind alone, removes gk itself from the deny list, and adds it
// to the allow list when that does not include it. A deny entry that
// matches gk by a glob stays: the error names it.
func allowKind(p *sollv1.Project, gk sollv1.GroupKind, namespaced bool) (string, error) {
	l := kindListsOf(&p.Spec, namespaced)
	if project.CheckResource(p, gk.Group, gk.Kind, namespaced) == nil {
		return "", errUnchanged
	}
	var done []string
	if i := slices.Index(*l.deny, gk); i >= 0 {
		*l.deny = slices.DeleteFunc(*l.deny, func(e sollv1.GroupKind) bool { return e == gk })
		done = append(done, "removed from "+l.denyField)
	}
	var re *project.ResourceError
	if errors.As(project.CheckResource(p, gk.Group, gk.Kind, namespaced), &re) && re.DeniedBy != nil {
		d := *re.DeniedBy
		return "", fmt.Errorf("project %s: %s stays denied by the entry {group: %q, kind: %q} of %s: remove that entry first with soll proj %s %s %q %q",
			p.Name, groupKind(gk.Group, gk.Kind), d.Group, d.Kind, l.denyField, kindCommand(true, namespaced), p.Name, d.Group, d.Kind)
	}
	if project.CheckResource(p, gk.Group, gk.Kind, namespaced) != nil {
		*l.allow = append(*l.allow, gk)
		done = append(done, "added to "+l.allowField)
	}
	return strings.Join(done, " and "), nil
}

// denyKind makes gk refused with the smallest change: it leaves a refused
// kind alone, removes gk itself from the allow list when that refuses it
// (but never empties the namespaced allow list, which would allow every
// kind), and adds it to the deny list otherwise.
func denyKind(p *sollv1.Project, gk sollv1.GroupKind, namespaced bool) (string, error) {
	l := kindListsOf(&p.Spec, namespaced)
	if project.CheckResource(p, gk.Group, gk.Kind, namespaced) != nil {
		return "", errUnchanged
	}
	rest := slices.DeleteFunc(slices.Clone(*l.allow), func(e sollv1.GroupKind) bool { return e == gk })
	if len(rest) < len(*l.allow) && (len(rest) > 0 || !namespaced) {
		trial := p.DeepCopy()
		*kindListsOf(&trial.Spec, namespaced).allow = rest
		if project.CheckResource(trial, gk.Group, gk.Kind, namespaced) != nil {
			*l.allow = rest
			return "removed from " + l.allowField, nil
		}
	}
	*l.deny = append(*l.deny, gk)
	return "added to " + l.denyField, nil
}

func kindCommand(allow, namespaced bool) string {
	verb, scope := "deny", "cluster"
	if allow {
		verb = "allow"
	}
	if namespaced {
		scope = "namespace"
	}
	return verb + "-" + scope + "-resource"
}

func (p *projCmd) resourceCommand(allow, namespaced bool) *cobra.Command {
	scope := "cluster-scoped"
	if namespaced {
		scope = "namespaced"
	}
	verb := "Keep the project's apps from managing"
	if allow {
		verb = "Let the project's apps manage"
	}
	use := kindCommand(allow, namespaced)
	return p.nameCommand(&cobra.Command{
		Use:   use + " PROJECT GROUP KIND",
		Short: fmt.Sprintf("%s objects of a %s kind", verb, scope),
		Long: fmt.Sprintf("%s objects of the %s kind GROUP KIND (globs; GROUP \"\" or core is the core group), "+
			"with the smallest change to the project's allow and deny lists: an entry for the kind itself is removed from the other list, "+
			"and one is added to this list only when still needed. An empty cluster allow list allows no cluster-scoped kind; "+
			"an empty namespace allow list allows every namespaced kind.", verb, scope),
		Example: "  soll proj " + use + " team-a apps Deployment\n  soll proj " + use + " team-a '' ConfigMap",
		Args:    exactlyArgs("PROJECT", "GROUP", "KIND"),
		RunE: func(cmd *cobra.Command, args []string) error {
			group := args[1]
			if group == "core" {
				group = ""
			}
			gk := sollv1.GroupKind{Group: group, Kind: args[2]}
			if gk.Kind == "" {
				return errors.New("KIND is empty: give a kind such as Deployment, or * for every kind")
			}
			what := groupKind(gk.Group, gk.Kind)
			return p.edit(cmd, args[0], func(proj *sollv1.Project) (string, error) {
				change := denyKind
				if allow {
					change = allowKind
				}
				done, err := change(proj, gk, namespaced)
				return fmt.Sprintf("%s %s: %s", what, map[bool]string{true: "allowed", false: "denied"}[allow], done), err
			}, map[bool]string{true: "allows ", false: "denies "}[allow]+what+" already")
		},
	})
}
