package cli

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/rbac"
)

// rbacCmd holds what the soll admin rbac commands share: where the policy
// comes from.
type rbacCmd struct {
	kubeFlags
	policyFile  string
	defaultRole string
	// reader reads the cluster; tests set it, otherwise it is made from
	// the kube flags when the policy is not read from a file.
	reader client.Reader
}

func newAdminRBACCommand(r *rbacCmd) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rbac",
		Short: "Validate RBAC policies and check what a subject may do",
		Long: "Validate RBAC policies and check what a subject may do.\n" +
			"The policy comes from --policy-file, or else from the ConfigMap " + rbac.ConfigMapName +
			" and the Projects' roles in soll's namespace (-n), read with your kubeconfig.",
		Args: cobra.NoArgs,
	}
	r.register(cmd, "soll's namespace, where the ConfigMap "+rbac.ConfigMapName+" and the Projects live")
	cmd.PersistentFlags().StringVar(&r.policyFile, "policy-file", "", "policy CSV file to use instead of the cluster's ConfigMap "+rbac.ConfigMapName)
	cmd.PersistentFlags().StringVar(&r.defaultRole, "default-role", "", "default role of every authenticated subject, for example "+rbac.RoleReadonly+" (default: the ConfigMap's "+rbac.KeyDefault+", or none with --policy-file)")
	cmd.AddCommand(r.validateCommand(), r.canCommand())
	return cmd
}

func (r *rbacCmd) validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check that a policy parses, naming the lines that do not",
		Example: "  soll admin rbac validate --policy-file policy.csv --default-role role:readonly\n" +
			"  soll admin rbac validate -n soll",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := r.enforcer(cmd)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "policy is valid (%d lines)\n", e.Lines())
			return err
		},
	}
}

// notAllowedError is returned by soll admin rbac can when the answer is
// no, so that the command exits with status 1 and says why.
type notAllowedError struct{ subject, action, resource, object string }

func (e *notAllowedError) Error() string {
	return fmt.Sprintf("%s may not %s %s %s", e.subject, e.action, e.resource, e.object)
}

func (r *rbacCmd) canCommand() *cobra.Command {
	var groups []string
	cmd := &cobra.Command{
		Use:   "can SUBJECT ACTION RESOURCE OBJECT",
		Short: "Print yes (exit 0) or no (exit 1): whether SUBJECT may do ACTION on RESOURCE's OBJECT",
		Long: "Print yes and exit 0 when SUBJECT may do ACTION on RESOURCE's OBJECT, or print no and exit 1.\n" +
			"SUBJECT has its kind: user:<account> for a local account, sso:<email or sub> for an SSO user, group:<group> for an SSO group, " +
			"proj:<project>:<role> for a project role's token; --group adds the SSO user's groups.\n" +
			"RESOURCE is one of " + strings.Join(rbac.Resources, ", ") + "; ACTION one of " + strings.Join(rbac.Actions, ", ") + ".\n" +
			"OBJECT is <project>/<application> for applications and logs, the project name for projects, " +
			"the URL for repositories, the server URL for clusters and the account name for accounts.",
		Example: "  soll admin rbac can sso:alice@example.com sync applications team-a/web --policy-file policy.csv --group team-a-devs\n" +
			"  soll admin rbac can proj:team-a:deployer get logs team-a/web -n soll",
		Args: cobra.ExactArgs(4),
		RunE: func(cmd *cobra.Command, args []string) error {
			subject, action, resource, object := args[0], args[1], args[2], args[3]
			if !slices.Contains(rbac.Resources, resource) {
				return fmt.Errorf("unknown resource %q: use one of %s (the order is SUBJECT ACTION RESOURCE OBJECT)", resource, strings.Join(rbac.Resources, ", "))
			}
			if !slices.Contains(rbac.Actions, action) {
				return fmt.Errorf("unknown action %q: use one of %s (the order is SUBJECT ACTION RESOURCE OBJECT)", action, strings.Join(rbac.Actions, ", "))
			}
			sub, err := rbac.ParseSubject(subject)
			if err != nil {
				return err
			}
			subjects := []rbac.Subject{sub}
			for _, g := range groups {
				subjects = append(subjects, rbac.Group(g))
			}
			e, err := r.enforcer(cmd)
			if err != nil {
				return err
			}
			if e.Allowed(subjects, resource, action, object) {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), "yes")
				return err
			}
			if _, err := fmt.Fprintln(cmd.OutOrStdout(), "no"); err != nil {
				return err
			}
			return &notAllowedError{subject: subject, action: action, resource: resource, object: object}
		},
	}
	cmd.Flags().StringArrayVar(&groups, "group", nil, "an SSO group of SUBJECT (repeat for several)")
	return cmd
}

// policySource is a policy to check and where it comes from.
type policySource struct {
	name     string
	policy   rbac.Policy
	projects []*sollv1.Project
}

// enforcer loads and parses the policy.
func (r *rbacCmd) enforcer(cmd *cobra.Command) (*rbac.Enforcer, error) {
	src, err := r.load(cmd)
	if err != nil {
		return nil, err
	}
	e, err := rbac.Parse(src.policy, src.projects...)
	if err != nil {
		return nil, fmt.Errorf("%s is not valid:\n%s", src.name, indent(err.Error()))
	}
	return e, nil
}

// load reads the policy from --policy-file or else from the cluster.
func (r *rbacCmd) load(cmd *cobra.Command) (policySource, error) {
	if r.policyFile != "" {
		data, err := os.ReadFile(r.policyFile)
		if err != nil {
			return policySource{}, fmt.Errorf("read --policy-file: %w", err)
		}
		return policySource{name: r.policyFile, policy: rbac.Policy{CSV: string(data), Default: r.defaultRole, Source: r.policyFile}}, nil
	}
	if r.reader == nil {
		c, err := r.client()
		if err != nil {
			return policySource{}, fmt.Errorf("%w (or pass --policy-file)", err)
		}
		r.reader = c
	}
	cm, projects, err := rbac.Read(cmd.Context(), r.reader, r.namespace)
	if err != nil {
		return policySource{}, fmt.Errorf("%w: check --kubeconfig and -n, or pass --policy-file", err)
	}
	src := policySource{
		name:   fmt.Sprintf("the policy in namespace %s (configmap %s and %d projects)", r.namespace, rbac.ConfigMapName, len(projects)),
		policy: rbac.PolicyOf(cm),
	}
	if cm == nil {
		cmd.PrintErrf("configmap %s not found in namespace %s: using the built-in policy and the Projects' roles\n", rbac.ConfigMapName, r.namespace)
	}
	if cmd.Flags().Changed("default-role") {
		src.policy.Default = r.defaultRole
	}
	for i := range projects {
		src.projects = append(src.projects, &projects[i])
	}
	return src, nil
}

// indent indents every line of s by two spaces.
func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
