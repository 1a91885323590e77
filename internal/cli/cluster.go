package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"soll.dev/internal/apiclient"
	"soll.dev/internal/apitypes"
)

// clusterCmd holds what every soll cluster subcommand shares.
type clusterCmd struct {
	apiCmd
}

var kindCluster = kind{"cluster", "soll cluster list"}

func newClusterCommand(g *globals) *cobra.Command {
	c := &clusterCmd{apiCmd{g: g}}
	cmd := &cobra.Command{
		Use:     "cluster",
		Aliases: []string{"clusters"},
		Short:   "Register the clusters soll deploys to, besides the one it runs in",
		Long: "Register, list, change and remove the clusters soll deploys to, through soll's API server. " +
			"A registered cluster is a Cluster in soll's namespace; the token or client certificate soll uses there is in a Secret beside it, " +
			"which no command prints and the API never returns.\n\n" +
			"soll cluster add makes a ServiceAccount for soll in the target cluster with your kubeconfig and registers the cluster with that " +
			"ServiceAccount's token, never with your own credentials; soll cluster rotate-auth replaces that token.",
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(c.addCommand(), c.listCommand(), c.getCommand(), c.setCommand(), c.removeCommand(), c.rotateCommand())
	return cmd
}

// targetFlags name the ServiceAccount soll uses in a target cluster.
type targetFlags struct {
	kubeconfig, serviceAccount, systemNS string
}

func (f *targetFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file with the context (default: $KUBECONFIG, then ~/.kube/config)")
	fl.StringVar(&f.serviceAccount, "service-account", "soll-manager", "ServiceAccount soll uses in the cluster")
	fl.StringVar(&f.systemNS, "system-namespace", "kube-system", "namespace of the ServiceAccount and its token Secrets in the cluster")
}

// load reads kubeContext (or the context of server) from the kubeconfig.
func (f *targetFlags) load(kubeContext, server string) (*remoteCluster, error) {
	for flag, v := range map[string]string{"--service-account": f.serviceAccount, "--system-namespace": f.systemNS} {
		if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
			return nil, fmt.Errorf("%s %q: %s", flag, v, strings.Join(errs, "; "))
		}
	}
	t, err := loadTarget(f.kubeconfig, kubeContext, server)
	if err != nil {
		return nil, err
	}
	t.serviceAccount, t.systemNS = f.serviceAccount, f.systemNS
	return t, nil
}

// parseLabels reads --label k=v flags; with removable, "k-" removes k.
func parseLabels(flags []string, removable bool) (set map[string]string, remove []string, err error) {
	set = map[string]string{}
	for _, l := range flags {
		if k, ok := strings.CutSuffix(l, "-"); removable && ok && !strings.Contains(l, "=") {
			remove = append(remove, k)
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			if removable {
				return nil, nil, fmt.Errorf("--label %q: want KEY=VALUE, or KEY- to remove the label", l)
			}
			return nil, nil, fmt.Errorf("--label %q: want KEY=VALUE", l)
		}
		set[k] = v
	}
	return set, remove, nil
}

func (c *clusterCmd) addCommand() *cobra.Command {
	var f targetFlags
	var name, output string
	var namespaces, labels []string
	var clusterResources, yes bool
	cmd := &cobra.Command{
		Use:   "add CONTEXT",
		Short: "Make a ServiceAccount for soll in the cluster of a kubeconfig context, and register the cluster with its token",
		Long: "Register the cluster of kubeconfig context CONTEXT with soll. With your credentials for CONTEXT, it makes (or updates) " +
			"in that cluster:\n\n" +
			"  - the ServiceAccount --service-account in --system-namespace;\n" +
			"  - the ClusterRole " + managerRole + " (every verb on everything) and a ClusterRoleBinding SERVICE-ACCOUNT-SYSTEM-NAMESPACE " +
			"of it to the ServiceAccount; with --namespace, a Role " + managerRole + " and a RoleBinding in each namespace instead, " +
			"and the ClusterRole and its binding only with --cluster-resources;\n" +
			"  - a long-lived token Secret of the ServiceAccount (kubernetes.io/service-account-token), which it waits for the " +
			"token controller to fill (30 seconds at most).\n\n" +
			"Then it registers the cluster through soll's API: the context's server URL, its CA (else the token Secret's ca.crt), " +
			"TLS server name and proxy, and the ServiceAccount's token. Your own credentials never leave this machine. " +
			"Running it again updates what it made; a cluster registered already is refused (change it with soll cluster set).",
		Example: "  soll cluster add prod-eu --label env=prod\n" +
			"  soll cluster add staging --name staging --namespace apps --namespace web --yes",
		Args: exactlyArgs("CONTEXT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if name == "" {
				name = args[0]
				if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
					return fmt.Errorf("context %q is not a valid cluster name (lower-case letters, digits, - and .): give one with --name", name)
				}
			}
			set, _, err := parseLabels(labels, false)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("cluster-resources") && len(namespaces) == 0 {
				return errors.New("--cluster-resources is for --namespace: without it soll may touch everything, cluster-scoped objects too")
			}
			t, err := f.load(args[0], "")
			if err != nil {
				return err
			}
			if !yes {
				if err := confirmAdd(cmd, c.g.stdin, t, namespaces, clusterResources); err != nil {
					return err
				}
			}
			api, err := c.client(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := checkNotRegistered(ctx, api, name, t.server); err != nil {
				return err
			}
			made, err := t.install(ctx, namespaces, clusterResources)
			if err != nil {
				return fmt.Errorf("prepare the cluster of context %s: %w", t.context, err)
			}
			sec, err := t.currentToken(ctx)
			if err != nil {
				return err
			}
			made = append(made, "token Secret "+t.systemNS+"/"+sec.Name)
			req := apitypes.ClusterRequest{
				Name: name, Server: t.server, CAData: t.caFor(sec), TLSServerName: t.tlsServerName, ProxyURL: t.proxy,
				Namespaces: namespaces, Labels: set,
				Credentials: apitypes.ClusterCredentials{Token: string(sec.Data[corev1.ServiceAccountTokenKey])},
			}
			if len(set) == 0 {
				req.Labels = nil
			}
			if len(namespaces) > 0 {
				req.ClusterResources = &clusterResources
			}
			got, err := api.CreateCluster(ctx, req)
			if err != nil {
				return fmt.Errorf("register cluster %s (%s): %w; what was made in the cluster of context %s stays (%s), and soll cluster add reuses it",
					name, t.server, clusterAdvice(err), t.context, strings.Join(made, ", "))
			}
			return view{
				value: got,
				table: func(w io.Writer, _ bool) error {
					_, err := fmt.Fprintf(w, "in the cluster of context %s: %s\ncluster %s (%s) registered on soll at %s with the token of ServiceAccount %s/%s\n",
						t.context, strings.Join(made, ", "), got.Name, got.Server, api.Server(), t.systemNS, t.serviceAccount)
					return err
				},
				names: func() []string { return []string{got.Name} },
			}.print(cmd, output)
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "name of the cluster in soll (default: CONTEXT)")
	fl.StringSliceVar(&namespaces, "namespace", nil, "the only namespaces soll may touch (repeat or comma-separate): Roles there instead of a ClusterRole")
	fl.BoolVar(&clusterResources, "cluster-resources", false, "with --namespace: let soll deploy cluster-scoped objects too (binds the ClusterRole as well)")
	fl.StringArrayVar(&labels, "label", nil, "label of the cluster, KEY=VALUE (repeatable)")
	fl.BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	addOutputFlag(cmd, &output)
	return cmd
}

// checkNotRegistered refuses, before anything is made in the target
// cluster, a name or server that soll has registered already (as far as
// the caller may see; the API checks again).
func checkNotRegistered(ctx context.Context, api *apiclient.Client, name, server string) error {
	list, err := api.Clusters(ctx)
	if err != nil {
		return kindCluster.err(api, "list", "", err)
	}
	for _, cl := range list {
		switch {
		case cl.Name == name:
			return fmt.Errorf("cluster %s is registered on soll at %s already (server %s): change it with soll cluster set %s, or give another --name", name, api.Server(), cl.Server, name)
		case sameServer(cl.Server, server):
			return fmt.Errorf("cluster %s on soll at %s has server %s already: a server is registered once; remove it with soll cluster rm %s first", cl.Name, api.Server(), server, cl.Name)
		}
	}
	return nil
}

// confirmAdd asks on the terminal whether to make the ServiceAccount.
func confirmAdd(cmd *cobra.Command, stdin io.Reader, t *remoteCluster, namespaces []string, clusterResources bool) error {
	scope := "every namespace and cluster-scoped object"
	if len(namespaces) > 0 {
		scope = "namespaces " + strings.Join(namespaces, ", ")
		if clusterResources {
			scope = "everything (a ClusterRole), soll keeping to " + scope
		}
	}
	if _, ok := terminalFD(stdin); !ok {
		return fmt.Errorf("this makes ServiceAccount %s/%s with every right on %s in the cluster of context %s (%s): pass --yes to go ahead",
			t.systemNS, t.serviceAccount, scope, t.context, t.server)
	}
	answer, err := prompt(cmd, stdin, fmt.Sprintf("Make ServiceAccount %s/%s with every right on %s in the cluster of context %s (%s)? [y/N] ",
		t.systemNS, t.serviceAccount, scope, t.context, t.server))
	if err != nil {
		return err
	}
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return errors.New("nothing done")
	}
	return nil
}

// clusterAdvice turns the API's advice in an error into the CLI's.
func clusterAdvice(err error) error {
	var e *apiclient.Error
	if !errors.As(err, &e) {
		return err
	}
	msg := strings.NewReplacer("change it with PATCH /api/v1/clusters/", "change it with soll cluster set ",
		"GET /api/v1/clusters lists them", "soll cluster list lists them").Replace(e.Message)
	if e.Field != "" && !strings.Contains(msg, e.Field) {
		msg = e.Field + ": " + msg
	}
	return fmt.Errorf("%s (HTTP %d %s)", msg, e.Status, e.Code)
}

// reachableText says a cluster's reachability in a word.
func reachableText(c *apitypes.Cluster) string {
	switch {
	case c.InCluster:
		return "-"
	case c.Status == nil:
		return "Unknown"
	case c.Status.Reachable == string(metav1.ConditionTrue):
		return "Reachable"
	case c.Status.Reachable == string(metav1.ConditionFalse):
		return "Unreachable"
	}
	return "Unknown"
}

// credentialsOf says a cluster's kind of credentials, never their value.
func credentialsOf(c *apitypes.Cluster) string {
	switch {
	case c.InCluster:
		return "soll's ServiceAccount"
	case c.Credentials == "exec":
		return "exec " + c.ExecCommand
	}
	return c.Credentials
}

func namespacesText(c *apitypes.Cluster) string {
	if len(c.Namespaces) == 0 {
		return "(all)"
	}
	return strings.Join(c.Namespaces, ",")
}

func labelsText(labels map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		out = append(out, k+"="+labels[k])
	}
	return strings.Join(out, ",")
}

func clusterNames(list []apitypes.Cluster) []string {
	out := make([]string, len(list))
	for i := range list {
		out[i] = list[i].Name
	}
	return out
}

func (c *clusterCmd) listCommand() *cobra.Command {
	return c.viewCommand(&cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the clusters soll deploys to: the one it runs in, then the registered ones, with their state",
		Args:    cobra.NoArgs,
	}, func(cmd *cobra.Command, _ []string, api *apiclient.Client) (view, error) {
		list, err := api.Clusters(cmd.Context())
		return view{
			value: nonNil(list),
			empty: len(list) == 0,
			none:  "no clusters on soll at " + api.Server() + " (or none you may see): register one with soll cluster add CONTEXT",
			table: func(w io.Writer, wide bool) error {
				t := newTable(w, "", wide)
				t.row([]string{"NAME", "SERVER", "STATE", "VERSION", "APPS", "CREDENTIALS", "NAMESPACES"}, "CLUSTER-RESOURCES", "LABELS", "LAST CONTACT", "MESSAGE")
				for i := range list {
					cl := &list[i]
					version, apps, contact, msg := "", "", "", ""
					if st := cl.Status; st != nil {
						version, apps, msg = st.ServerVersion, strconv.Itoa(int(st.Applications)), st.Message
						if st.LastContact != nil {
							contact = st.LastContact.Format(time.RFC3339)
						}
					}
					t.row([]string{cl.Name, cl.Server, reachableText(cl), orDash(version), orDash(apps), credentialsOf(cl), namespacesText(cl)},
						strconv.FormatBool(cl.ClusterResources), orDash(labelsText(cl.Labels)), orDash(contact), orDash(msg))
				}
				return t.flush()
			},
			names: func() []string { return clusterNames(list) },
		}, kindCluster.err(api, "list", "", err)
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// nameCommand is a command whose first argument is a cluster name, which
// the shell completes.
func (c *clusterCmd) nameCommand(cmd *cobra.Command) *cobra.Command {
	cmd.ValidArgsFunction = c.completeNames(func(ctx context.Context, api *apiclient.Client) ([]string, error) {
		list, err := api.Clusters(ctx)
		return clusterNames(list), err
	})
	return cmd
}

func (c *clusterCmd) getCommand() *cobra.Command {
	return c.nameCommand(c.viewCommand(&cobra.Command{
		Use:   "get NAME",
		Short: "Show a cluster: server, TLS settings, credentials kind, namespaces, labels and state",
		Args:  exactlyArgs("NAME"),
	}, func(cmd *cobra.Command, args []string, api *apiclient.Client) (view, error) {
		cl, err := api.GetCluster(cmd.Context(), args[0])
		if err != nil {
			return view{}, kindCluster.err(api, "get", args[0], err)
		}
		return view{
			value: cl,
			table: func(w io.Writer, _ bool) error { return writeClusterSummary(w, cl) },
			names: func() []string { return []string{cl.Name} },
		}, nil
	}))
}

// writeClusterSummary writes the human-readable view of soll cluster get.
func writeClusterSummary(w io.Writer, cl *apitypes.Cluster) error {
	s := &summary{w: w}
	s.line(0, "Name", cl.Name)
	s.line(0, "Server", cl.Server)
	if !cl.InCluster {
		ca := "system roots"
		if cl.HasCAData {
			ca = "set"
		}
		s.line(0, "CA", ca)
		s.line(0, "TLS Server Name", cl.TLSServerName)
		s.line(0, "Proxy", cl.ProxyURL)
	}
	cred := credentialsOf(cl)
	if cl.SecretName != "" {
		cred += " (Secret " + cl.SecretName + ")"
	}
	s.line(0, "Credentials", cred)
	s.line(0, "Namespaces", namespacesText(cl))
	s.line(0, "Cluster Objects", map[bool]string{true: "allowed", false: "not allowed"}[cl.ClusterResources])
	s.line(0, "Labels", labelsText(cl.Labels))
	s.line(0, "State", reachableText(cl))
	if st := cl.Status; st != nil {
		s.line(1, "Message", st.Message)
		s.line(1, "Version", st.ServerVersion)
		if st.LastContact != nil {
			s.line(1, "Last Contact", st.LastContact.Format(time.RFC3339))
		}
		s.line(1, "Applications", strconv.Itoa(int(st.Applications)))
		s.line(1, "Watched", fmt.Sprintf("%d kinds, %d objects", st.WatchedKinds, st.WatchedObjects))
	}
	return s.err
}

func (c *clusterCmd) setCommand() *cobra.Command {
	var labels, namespaces []string
	var server, output string
	var clusterResources, allNamespaces bool
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Change a registered cluster: labels, namespaces, cluster-scoped objects, server",
		Long: "Change what the flags give of a registered cluster; the rest stays. " +
			"The rights of soll's ServiceAccount in the cluster stay as they are: to change them with --namespace, " +
			"run soll cluster rm and soll cluster add with the new namespaces (it updates what it made), or change the Roles yourself.",
		Example: "  soll cluster set prod-eu --label tier=1 --label old-\n" +
			"  soll cluster set staging --namespace apps,web --cluster-resources=false\n" +
			"  soll cluster set staging --all-namespaces",
		Args: exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			fl := cmd.Flags()
			set, remove, err := parseLabels(labels, true)
			if err != nil {
				return err
			}
			var patch apitypes.ClusterPatch
			switch {
			case allNamespaces && fl.Changed("namespace"):
				return errors.New("--namespace lists the namespaces soll may touch and --all-namespaces lets it touch all: give one of them")
			case allNamespaces:
				patch.Namespaces = &[]string{}
			case fl.Changed("namespace"):
				patch.Namespaces = &namespaces
			}
			if fl.Changed("cluster-resources") {
				patch.ClusterResources = &clusterResources
			}
			if fl.Changed("server") {
				patch.Server = &server
			}
			if len(set)+len(remove) == 0 && patch == (apitypes.ClusterPatch{}) {
				return errors.New("nothing to change: give --label, --namespace, --all-namespaces, --cluster-resources or --server")
			}
			api, err := c.client(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if len(set)+len(remove) > 0 {
				cur, err := api.GetCluster(ctx, args[0])
				if err != nil {
					return kindCluster.err(api, "get", args[0], err)
				}
				merged := maps.Clone(cur.Labels)
				if merged == nil {
					merged = map[string]string{}
				}
				maps.Copy(merged, set)
				for _, k := range remove {
					delete(merged, k)
				}
				patch.Labels = &merged
			}
			got, err := api.PatchCluster(ctx, args[0], patch)
			if err != nil {
				if apiclient.IsNotFound(err) {
					return kindCluster.err(api, "change", args[0], err)
				}
				return fmt.Errorf("change cluster %s: %w", args[0], clusterAdvice(err))
			}
			return view{
				value: got,
				table: func(w io.Writer, _ bool) error {
					_, err := fmt.Fprintf(w, "cluster %s changed on soll at %s\n", got.Name, api.Server())
					return err
				},
				names: func() []string { return []string{got.Name} },
			}.print(cmd, output)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&labels, "label", nil, "set a label, KEY=VALUE, or remove one, KEY- (repeatable)")
	fl.StringSliceVar(&namespaces, "namespace", nil, "replace the namespaces soll may touch (repeat or comma-separate)")
	fl.BoolVar(&allNamespaces, "all-namespaces", false, "let soll touch every namespace")
	fl.BoolVar(&clusterResources, "cluster-resources", false, "whether soll may deploy cluster-scoped objects")
	fl.StringVar(&server, "server", "", "the API server's new https:// URL")
	addOutputFlag(cmd, &output)
	return c.nameCommand(cmd)
}

func (c *clusterCmd) removeCommand() *cobra.Command {
	return c.nameCommand(&cobra.Command{
		Use:     "rm NAME",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove a registered cluster and its credentials from soll; the Applications that deploy there stay",
		Long: "Remove a registered cluster and the Secret of its credentials from soll. Applications that deploy there are left " +
			"alone (they fail until the cluster is registered again or their destination changes); the command says how many there are. " +
			"What soll cluster add made in the cluster stays: delete the ServiceAccount, its token Secrets and its roles there to " +
			"revoke soll's access.",
		Args: exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := c.client(cmd)
			if err != nil {
				return err
			}
			res, err := api.DeleteCluster(cmd.Context(), args[0])
			if err != nil {
				if apiclient.IsNotFound(err) {
					return kindCluster.err(api, "remove", args[0], err)
				}
				return fmt.Errorf("remove cluster %s: %w", args[0], clusterAdvice(err))
			}
			apps := "no application deploys there"
			switch {
			case res.Applications == 1:
				apps = "1 application still deploys there: change its destination, or register the cluster again"
			case res.Applications > 1:
				apps = fmt.Sprintf("%d applications still deploy there: change their destination, or register the cluster again", res.Applications)
			}
			return say(cmd, "cluster %s removed from soll at %s; %s", res.Name, api.Server(), apps)
		},
	})
}

func (c *clusterCmd) rotateCommand() *cobra.Command {
	var f targetFlags
	var kubeContext string
	cmd := &cobra.Command{
		Use:   "rotate-auth NAME",
		Short: "Give soll a new token of its ServiceAccount in a registered cluster and revoke the old one",
		Long: "Replace the token soll uses for cluster NAME: with your credentials for the cluster's kubeconfig context, it makes a " +
			"new token Secret of soll's ServiceAccount there, waits for the token controller to fill it, switches soll to the new token, " +
			"then deletes the ServiceAccount's other token Secrets that soll made, so that the old token stops working. " +
			"--service-account and --system-namespace must be those soll cluster add was given. " +
			"Without --context, the context whose server is the cluster's is used.",
		Example: "  soll cluster rotate-auth prod-eu\n  soll cluster rotate-auth staging --context staging-admin",
		Args:    exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := c.client(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cl, err := api.GetCluster(ctx, args[0])
			if err != nil {
				return kindCluster.err(api, "get", args[0], err)
			}
			if cl.InCluster {
				return fmt.Errorf("%s is the cluster soll runs in: soll uses its own ServiceAccount there", cl.Name)
			}
			t, err := f.load(kubeContext, cl.Server)
			if err != nil {
				return err
			}
			if !sameServer(t.server, cl.Server) {
				return fmt.Errorf("context %s has server %s, and cluster %s has %s: give the context of that cluster with --context", t.context, t.server, cl.Name, cl.Server)
			}
			old, err := t.tokenSecrets(ctx)
			if err != nil {
				return err
			}
			sec, err := t.newToken(ctx)
			if err != nil {
				return err
			}
			if _, err := api.SetClusterCredentials(ctx, cl.Name, apitypes.ClusterCredentials{Token: string(sec.Data[corev1.ServiceAccountTokenKey])}); err != nil {
				// soll keeps the old token: the new one goes.
				_ = t.kube.CoreV1().Secrets(t.systemNS).Delete(context.WithoutCancel(ctx), sec.Name, metav1.DeleteOptions{})
				return fmt.Errorf("switch cluster %s to the new token (it keeps the old one): %w", cl.Name, clusterAdvice(err))
			}
			var revoked []string
			for _, o := range old {
				if err := t.kube.CoreV1().Secrets(t.systemNS).Delete(ctx, o.Name, metav1.DeleteOptions{}); err != nil {
					return fmt.Errorf("soll uses the new token of Secret %s/%s, but the old token Secret %s could not be deleted: %w; delete it to revoke the old token",
						t.systemNS, sec.Name, o.Name, err)
				}
				revoked = append(revoked, t.systemNS+"/"+o.Name)
			}
			msg := "no old token Secret of soll's to delete"
			if len(revoked) > 0 {
				msg = "old token Secret " + strings.Join(revoked, ", ") + " deleted"
			}
			return say(cmd, "cluster %s: soll uses the token of Secret %s/%s now; %s", cl.Name, t.systemNS, sec.Name, msg)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&kubeContext, "context", "", "kubeconfig context of the cluster (default: the one whose server is the cluster's)")
	return c.nameCommand(cmd)
}
