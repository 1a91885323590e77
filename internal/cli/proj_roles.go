package cli

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/rbac"
)

func (p *projCmd) roleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "role",
		Aliases: []string{"roles"},
		Short:   "Manage the roles of a Project: their policies, SSO groups and API tokens",
		Long: "A Project role grants permissions on the Project's applications to SSO groups and to API tokens issued for it. " +
			"RBAC names it proj:PROJECT:ROLE; its policies may only grant within the Project.",
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(p.roleListCommand(), p.roleCreateCommand(), p.roleDeleteCommand(),
		p.rolePolicyCommand(true), p.rolePolicyCommand(false),
		p.roleGroupCommand(true), p.roleGroupCommand(false),
		p.roleCreateTokenCommand(), p.roleDeleteTokenCommand())
	return cmd
}

// roleIndex returns the index of role in proj, or an error that lists the
// roles it has.
func roleIndex(proj *sollv1.Project, role string) (int, error) {
	i := slices.IndexFunc(proj.Spec.Roles, func(r sollv1.ProjectRole) bool { return r.Name == role })
	if i < 0 {
		return -1, fmt.Errorf("project %s has no role %s (%s): create it with soll proj role create %s %s", proj.Name, role, hasText(roleNames(proj)), proj.Name, role)
	}
	return i, nil
}

// editRole edits role of project name as edit does.
func (p *projCmd) editRole(cmd *cobra.Command, name, role string, change func(proj *sollv1.Project, r *sollv1.ProjectRole) (string, error), unchanged string) error {
	return p.edit(cmd, name, func(proj *sollv1.Project) (string, error) {
		i, err := roleIndex(proj, role)
		if err != nil {
			return "", err
		}
		return change(proj, &proj.Spec.Roles[i])
	}, unchanged)
}

func (p *projCmd) roleListCommand() *cobra.Command {
	return p.projectCommand(&cobra.Command{
		Use:     "list PROJECT",
		Aliases: []string{"ls"},
		Short:   "List the roles of a Project with their groups and tokens (-o wide: and policies)",
		Args:    exactlyArgs("PROJECT"),
	}, func(proj *sollv1.Project) view {
		roles := proj.Spec.Roles
		return view{
			value: nonNil(roles),
			empty: len(roles) == 0,
			none:  "project " + proj.Name + " has no roles: create one with soll proj role create " + proj.Name + " ROLE",
			table: func(w io.Writer, wide bool) error { return writeRoleTable(w, "", proj, wide) },
			names: func() []string { return roleNames(proj) },
		}
	})
}

func roleNames(proj *sollv1.Project) []string {
	out := make([]string, len(proj.Spec.Roles))
	for i, r := range proj.Spec.Roles {
		out[i] = r.Name
	}
	return out
}

func (p *projCmd) roleCreateCommand() *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:     "create PROJECT ROLE",
		Short:   "Create a role in a Project; give it policies with soll proj role add-policy",
		Example: "  soll proj role create team-a ci --description \"The pipeline syncs after a merge\"",
		Args:    exactlyArgs("PROJECT", "ROLE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, role := args[0], args[1]
			return p.edit(cmd, name, func(proj *sollv1.Project) (string, error) {
				if _, err := roleIndex(proj, role); err == nil {
					return "", fmt.Errorf("project %s has a role %s already: change it with soll proj role add-policy or add-group", name, role)
				}
				proj.Spec.Roles = append(proj.Spec.Roles, sollv1.ProjectRole{Name: role, Description: description})
				return fmt.Sprintf("role %s created: RBAC names it %s; grant it rights with soll proj role add-policy %s %s --action ACTION",
					role, rbac.ProjectSubject(name, role), name, role), nil
			}, "")
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the role is for")
	return p.nameCommand(cmd)
}

func (p *projCmd) roleDeleteCommand() *cobra.Command {
	return p.nameCommand(&cobra.Command{
		Use:   "delete PROJECT ROLE",
		Short: "Delete a role of a Project; its API tokens are refused from then on",
		Args:  exactlyArgs("PROJECT", "ROLE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, role := args[0], args[1]
			return p.edit(cmd, name, func(proj *sollv1.Project) (string, error) {
				i, err := roleIndex(proj, role)
				if err != nil {
					return "", err
				}
				proj.Spec.Roles = slices.Delete(proj.Spec.Roles, i, i+1)
				return "role " + role + " deleted; its tokens are refused from now on", nil
			}, "")
		},
	})
}

// policyFlags describe one policy line of a role.
type policyFlags struct {
	action, object, resource, permission string
}

func (f *policyFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.action, "action", "a", "", "get, create, update, delete, sync, rollback, override or * (required)")
	fl.StringVar(&f.object, "object", "*", "glob of the project's app names the line is about")
	fl.StringVarP(&f.resource, "resource", "r", "applications", "applications or logs")
	fl.StringVarP(&f.permission, "permission", "p", "allow", "allow or deny")
}

// line is the policy line the flags describe for role of project.
func (f *policyFlags) line(project, role string) (string, error) {
	switch {
	case f.action == "":
		return "", fmt.Errorf("--action is required: get, create, update, delete, sync, rollback, override or *")
	case f.permission != "allow" && f.permission != "deny":
		return "", fmt.Errorf("--permission %q: want allow or deny", f.permission)
	}
	object := f.object
	if !strings.HasPrefix(object, project+"/") {
		object = project + "/" + object
	}
	return strings.Join([]string{"p", rbac.ProjectSubject(project, role), f.resource, f.action, object, f.permission}, ", "), nil
}

// normalPolicy is a policy line with its fields trimmed and joined by
// ", ", so that lines written by hand compare with the CLI's.
func normalPolicy(line string) string {
	fields := strings.Split(line, ",")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, ", ")
}

func (p *projCmd) rolePolicyCommand(add bool) *cobra.Command {
	var f policyFlags
	short := "Grant or refuse a role an action on the project's apps"
	if !add {
		short = "Remove a policy line from a role"
	}
	cmd := &cobra.Command{
		Use:   addOrRemove(add, "policy") + " PROJECT ROLE --action ACTION [--object APPGLOB]",
		Short: short,
		Long: short + ": the line p, proj:PROJECT:ROLE, RESOURCE, ACTION, PROJECT/APPGLOB, PERMISSION. " +
			"soll refuses lines that grant outside the project.",
		Example: "  soll proj role " + addOrRemove(add, "policy") + " team-a ci --action sync\n" +
			"  soll proj role " + addOrRemove(add, "policy") + " team-a ci --action get --object 'web-*'",
		Args: exactlyArgs("PROJECT", "ROLE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, role := args[0], args[1]
			line, err := f.line(name, role)
			if err != nil {
				return err
			}
			return p.editRole(cmd, name, role, func(proj *sollv1.Project, r *sollv1.ProjectRole) (string, error) {
				err := toggle(&r.Policies, line, add, func(a, b string) bool { return normalPolicy(a) == normalPolicy(b) }, func() error {
					return missing(name, "policy", "\""+line+"\"", "spec.roles["+role+"].policies", r.Policies)
				})
				if err == nil && add {
					// soll's own check of role policies, before anything
					// is written.
					_, err = rbac.ProjectPolicies(proj)
				}
				return "role " + role + ": policy " + addedOrRemoved(add) + ": " + line, err
			}, "role "+role+" has the policy \""+line+"\" already")
		},
	}
	f.register(cmd)
	return p.nameCommand(cmd)
}

func (p *projCmd) roleGroupCommand(add bool) *cobra.Command {
	short := "Give the members of an SSO group a role"
	if !add {
		short = "Take a role from the members of an SSO group"
	}
	return p.nameCommand(&cobra.Command{
		Use:   addOrRemove(add, "group") + " PROJECT ROLE GROUP",
		Short: short,
		Args:  exactlyArgs("PROJECT", "ROLE", "GROUP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, role, group := args[0], args[1], args[2]
			return p.editRole(cmd, name, role, func(_ *sollv1.Project, r *sollv1.ProjectRole) (string, error) {
				err := toggle(&r.Groups, group, add, nil, func() error {
					return missing(name, "group", group, "spec.roles["+role+"].groups", r.Groups)
				})
				return "role " + role + ": group " + group + " " + addedOrRemoved(add), err
			}, "role "+role+" has group "+group+" already")
		},
	})
}

func (p *projCmd) roleCreateTokenCommand() *cobra.Command {
	var f tokenFlags
	cmd := &cobra.Command{
		Use:   "create-token PROJECT ROLE",
		Short: "Issue an API token for a role of a Project; the token is printed this once only",
		Example: "  soll proj role create-token team-a ci --expires-in 720h --id pipeline > token\n" +
			"  SOLL_AUTH_TOKEN=$(cat token) soll app sync team-a-web",
		Args: exactlyArgs("PROJECT", "ROLE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := f.request()
			if err != nil {
				return err
			}
			name, role := args[0], args[1]
			c, proj, err := p.get(cmd, name)
			if err != nil {
				return err
			}
			if _, err := roleIndex(proj, role); err != nil {
				return err
			}
			tok, err := c.CreateProjectToken(cmd.Context(), name, role, req)
			if err != nil {
				return kindProject.err(c, "issue a token for role "+role+" of", name, err)
			}
			return f.print(cmd, tok, "role "+role+" of project "+name)
		},
	}
	f.register(cmd)
	return p.nameCommand(cmd)
}

func (p *projCmd) roleDeleteTokenCommand() *cobra.Command {
	return p.nameCommand(&cobra.Command{
		Use:   "delete-token PROJECT ROLE ID",
		Short: "Revoke an API token of a role of a Project",
		Args:  exactlyArgs("PROJECT", "ROLE", "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, role, id := args[0], args[1], args[2]
			c, err := p.client(cmd)
			if err != nil {
				return err
			}
			err = c.DeleteProjectToken(cmd.Context(), name, role, id)
			if err != nil {
				if _, proj, getErr := p.get(cmd, name); getErr != nil {
					return getErr
				} else if _, roleErr := roleIndex(proj, role); roleErr != nil {
					return roleErr
				} else if slices.IndexFunc(roleTokens(proj, role), func(t sollv1.JWTToken) bool { return t.ID == id }) < 0 {
					return fmt.Errorf("role %s of project %s has no token %s: its tokens are listed by soll proj role list %s", role, name, id, name)
				}
				return kindProject.err(c, "revoke token "+id+" of role "+role+" of", name, err)
			}
			return say(cmd, "token %s of role %s of project %s revoked", id, role, name)
		},
	})
}

// roleTokens are the tokens of role: those soll issued and those the
// spec declares.
func roleTokens(proj *sollv1.Project, role string) []sollv1.JWTToken {
	var out []sollv1.JWTToken
	for _, rt := range proj.Status.JWTTokensByRole {
		if rt.Role == role {
			out = append(out, rt.Tokens...)
		}
	}
	if i, err := roleIndex(proj, role); err == nil {
		out = append(out, proj.Spec.Roles[i].JWTTokens...)
	}
	return out
}

func tokenIDs(ts []sollv1.JWTToken) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
		if t.ExpiresAt != nil {
			out[i] += " (until " + t.ExpiresAt.UTC().Format(time.RFC3339) + ")"
		}
	}
	return strings.Join(out, ", ")
}

// writeRoleTable writes the roles of proj; wide adds their policies.
func writeRoleTable(w io.Writer, indent string, proj *sollv1.Project, wide bool) error {
	t := newTable(w, indent, wide)
	t.row([]string{"NAME", "POLICIES", "GROUPS", "TOKENS", "DESCRIPTION"}, "POLICY LINES")
	for _, r := range proj.Spec.Roles {
		t.row([]string{r.Name, strconv.Itoa(len(r.Policies)), strings.Join(r.Groups, ","), tokenIDs(roleTokens(proj, r.Name)), r.Description},
			strings.Join(r.Policies, "; "))
	}
	return t.flush()
}
