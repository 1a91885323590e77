package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/version"
)

// kubeFlags are the flags of commands that talk to the Kubernetes API
// directly with the user's kubeconfig.
type kubeFlags struct {
	kubeconfig string
	namespace  string
}

// register adds --kubeconfig and -n/--namespace as persistent flags, so that
// they work on every subcommand of cmd; nsUsage describes the namespace.
func (f *kubeFlags) register(cmd *cobra.Command, nsUsage string) {
	f.registerOn(cmd.PersistentFlags(), nsUsage)
}

// registerOn adds --kubeconfig and -n/--namespace to fl.
func (f *kubeFlags) registerOn(fl *pflag.FlagSet, nsUsage string) {
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	fl.StringVarP(&f.namespace, "namespace", "n", envOr("SOLL_NAMESPACE", "soll"), nsUsage+" ($SOLL_NAMESPACE overrides the default)")
}

// contextClient returns a client for the kubeconfig context kubeContext
// (the current one when empty).
func (f *kubeFlags) contextClient(kubeContext string) (client.Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if f.kubeconfig != "" {
		rules.ExplicitPath = f.kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load Kubernetes configuration: %w: pass --kubeconfig and --kube-context, or set $KUBECONFIG", err)
	}
	cfg.UserAgent = "soll-cli/" + version.Version
	c, err := client.New(cfg, client.Options{Scheme: cliScheme})
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client for %s: %w", cfg.Host, err)
	}
	return c, nil
}

// restConfig loads the kubeconfig the way kubectl does: --kubeconfig, then
// $KUBECONFIG, then ~/.kube/config, then the in-cluster configuration.
func (f *kubeFlags) restConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if f.kubeconfig != "" {
		rules.ExplicitPath = f.kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load Kubernetes configuration: %w: pass --kubeconfig or set $KUBECONFIG", err)
	}
	cfg.UserAgent = "soll-cli/" + version.Version
	return cfg, nil
}

// client returns a controller-runtime client that knows the core types,
// CustomResourceDefinitions and soll's own types.
func (f *kubeFlags) client() (client.Client, error) {
	cfg, err := f.restConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: cliScheme})
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client for %s: %w", cfg.Host, err)
	}
	return c, nil
}

var cliScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, sollv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// apiError turns an error of the Kubernetes API about what (for example
// "application wordpress") in namespace ns into one that says what to do.
// verb is what was being done, for example "create".
func apiError(verb, what, ns string, err error) error {
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	switch {
	case meta.IsNoMatchError(err):
		return fmt.Errorf("%s %s: the cluster does not know soll's CRDs: install them with soll install --apply", verb, what)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s not found in namespace %s: list apps with soll app list -n %s", what, ns, ns)
	case apierrors.IsAlreadyExists(err):
		return fmt.Errorf("%s already exists in namespace %s: change it with soll app set, or delete it first with soll app delete", what, ns)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s %s in namespace %s: forbidden: %s: ask for RBAC permission on applications.soll.dev in that namespace, or check --kubeconfig and -n", verb, what, ns, apiMessage(err))
	case apierrors.IsInvalid(err):
		return fmt.Errorf("%s %s: the API server rejected it:\n%s", verb, what, invalidCauses(err))
	case apierrors.IsConflict(err):
		return fmt.Errorf("%s %s: it was changed at the same time by someone else: run the command again", verb, what)
	case errors.As(err, &status):
		return fmt.Errorf("%s %s in namespace %s: %w", verb, what, ns, err)
	default:
		return fmt.Errorf("%s %s in namespace %s: %w (is the cluster in your kubeconfig reachable?)", verb, what, ns, err)
	}
}

func apiMessage(err error) string {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		return s.Status().Message
	}
	return err.Error()
}

// invalidCauses lists the fields the API server (schema, CEL rules or an
// admission webhook) rejected, one per line.
func invalidCauses(err error) string {
	var s apierrors.APIStatus
	if !errors.As(err, &s) || s.Status().Details == nil || len(s.Status().Details.Causes) == 0 {
		return "  " + apiMessage(err)
	}
	var b strings.Builder
	for i, c := range s.Status().Details.Causes {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("  ")
		if c.Field != "" {
			b.WriteString(c.Field + ": ")
		}
		b.WriteString(c.Message)
	}
	return b.String()
}
