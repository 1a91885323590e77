package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"soll.dev/internal/version"
)

// What soll cluster add makes in a target cluster so that soll can reach
// it with credentials of its own, never the user's: a ServiceAccount, the
// right to do anything (a ClusterRole bound cluster-wide, or Roles bound
// in the namespaces soll may touch) and a long-lived token of the
// ServiceAccount in a Secret that the token controller fills.

const (
	// managerRole names the ClusterRole and the Roles.
	managerRole = "soll-manager-role"
	// tokenOfLabel marks the token Secrets soll made, with the name of
	// their ServiceAccount.
	tokenOfLabel = "soll.dev/token-of"
	// tokenWait bounds the wait for the token controller.
	tokenWait = 30 * time.Second
)

// allRights are every verb on everything (of a namespace, for a Role).
var allRights = []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}

// clusterRights adds the non-resource URLs (/version, /healthz) to
// allRights, which only ClusterRoles can grant.
var clusterRights = append(slices.Clone(allRights), rbacv1.PolicyRule{NonResourceURLs: []string{"*"}, Verbs: []string{"*"}})

// managedLabels mark what soll made in a target cluster.
var managedLabels = map[string]string{"app.kubernetes.io/managed-by": "soll"}

// remoteCluster is a cluster soll is to reach, as a kubeconfig context shows it.
type remoteCluster struct {
	context                      string
	server, tlsServerName, proxy string
	caData                       []byte
	kube                         kubernetes.Interface
	serviceAccount, systemNS     string
}

// loadTarget reads context kubeContext of the kubeconfig (the default
// files when kubeconfig is ""); an empty kubeContext means the context
// whose cluster's server is server.
func loadTarget(kubeconfig, kubeContext, server string) (*remoteCluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	where := "your kubeconfig"
	if kubeconfig != "" {
		rules.ExplicitPath, where = kubeconfig, kubeconfig
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", where, err)
	}
	if kubeContext == "" {
		var found []string
		for name, kc := range raw.Contexts {
			if c := raw.Clusters[kc.Cluster]; c != nil && sameServer(c.Server, server) {
				found = append(found, name)
			}
		}
		slices.Sort(found)
		switch len(found) {
		case 0:
			return nil, fmt.Errorf("no context of %s has server %s: give the context with --context", where, server)
		case 1:
			kubeContext = found[0]
		default:
			return nil, fmt.Errorf("contexts %s of %s all have server %s: give one with --context", strings.Join(found, ", "), where, server)
		}
	}
	kc := raw.Contexts[kubeContext]
	if kc == nil {
		return nil, fmt.Errorf("no context %s in %s: kubectl config get-contexts lists them", kubeContext, where)
	}
	cl := raw.Clusters[kc.Cluster]
	if cl == nil {
		return nil, fmt.Errorf("context %s of %s names cluster %s, which is not there", kubeContext, where, kc.Cluster)
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, kubeContext, &clientcmd.ConfigOverrides{}, rules).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("context %s of %s: %w", kubeContext, where, err)
	}
	if err := rest.LoadTLSFiles(cfg); err != nil {
		return nil, fmt.Errorf("context %s of %s: %w", kubeContext, where, err)
	}
	cfg.UserAgent = "soll-cli/" + version.Version
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for context %s: %w", kubeContext, err)
	}
	return &remoteCluster{
		context: kubeContext, server: cl.Server, tlsServerName: cl.TLSServerName, proxy: cl.ProxyURL,
		caData: cfg.CAData, kube: kube,
	}, nil
}

// sameServer compares two server URLs as soll does.
func sameServer(a, b string) bool {
	norm := func(s string) string {
		s = strings.TrimRight(strings.ToLower(strings.TrimSpace(s)), "/")
		return strings.Replace(s, ":443", "", 1)
	}
	return norm(a) == norm(b)
}

// install makes (or updates) the ServiceAccount and its rights: a
// ClusterRole bound cluster-wide when namespaces is empty or
// clusterResources, and a Role bound in each of namespaces.
func (t *remoteCluster) install(ctx context.Context, namespaces []string, clusterResources bool) ([]string, error) {
	var made []string
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: t.serviceAccount, Namespace: t.systemNS, Labels: managedLabels}}
	_, err := t.kube.CoreV1().ServiceAccounts(t.systemNS).Create(ctx, sa, metav1.CreateOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("namespace %s does not exist in the cluster of context %s: create it, or give another with --system-namespace", t.systemNS, t.context)
	case err != nil && !apierrors.IsAlreadyExists(err):
		return nil, fmt.Errorf("create ServiceAccount %s/%s: %w", t.systemNS, t.serviceAccount, err)
	}
	made = append(made, "ServiceAccount "+t.systemNS+"/"+t.serviceAccount)
	subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: t.serviceAccount, Namespace: t.systemNS}
	binding := t.serviceAccount + "-" + t.systemNS
	if len(namespaces) == 0 || clusterResources {
		if err := t.ensureClusterRole(ctx); err != nil {
			return nil, err
		}
		if err := t.ensureClusterRoleBinding(ctx, binding, subject); err != nil {
			return nil, err
		}
		made = append(made, "ClusterRole "+managerRole, "ClusterRoleBinding "+binding)
	}
	for _, ns := range namespaces {
		if err := t.ensureRole(ctx, ns); err != nil {
			return nil, err
		}
		if err := t.ensureRoleBinding(ctx, ns, binding, subject); err != nil {
			return nil, err
		}
		made = append(made, fmt.Sprintf("Role %s/%s, RoleBinding %s/%s", ns, managerRole, ns, binding))
	}
	return made, nil
}

func (t *remoteCluster) ensureClusterRole(ctx context.Context) error {
	api := t.kube.RbacV1().ClusterRoles()
	want := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: managerRole, Labels: managedLabels}, Rules: clusterRights}
	cur, err := api.Get(ctx, managerRole, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		cur.Rules = want.Rules
		_, err = api.Update(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("make ClusterRole %s: %w", managerRole, err)
	}
	return nil
}

// checkRoleRef refuses a binding that grants another role than ours:
// its roleRef cannot change.
func checkRoleRef(what string, ref rbacv1.RoleRef, kind string) error {
	if ref.Kind != kind || ref.Name != managerRole {
		return fmt.Errorf("%s exists and binds %s %s, not %s %s: delete it, or give another --service-account", what, ref.Kind, ref.Name, kind, managerRole)
	}
	return nil
}

func (t *remoteCluster) ensureClusterRoleBinding(ctx context.Context, name string, subject rbacv1.Subject) error {
	api := t.kube.RbacV1().ClusterRoleBindings()
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: managerRole}
	cur, err := api.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: managedLabels}, RoleRef: ref, Subjects: []rbacv1.Subject{subject}}, metav1.CreateOptions{})
	case err == nil:
		if err := checkRoleRef("ClusterRoleBinding "+name, cur.RoleRef, ref.Kind); err != nil {
			return err
		}
		cur.Subjects = []rbacv1.Subject{subject}
		_, err = api.Update(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("make ClusterRoleBinding %s: %w", name, err)
	}
	return nil
}

func (t *remoteCluster) ensureRole(ctx context.Context, ns string) error {
	api := t.kube.RbacV1().Roles(ns)
	cur, err := api.Get(ctx, managerRole, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: managerRole, Namespace: ns, Labels: managedLabels}, Rules: allRights}, metav1.CreateOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace %s does not exist in the cluster of context %s: create it first, or leave it out of --namespace", ns, t.context)
		}
	case err == nil:
		cur.Rules = allRights
		_, err = api.Update(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("make Role %s/%s: %w", ns, managerRole, err)
	}
	return nil
}

func (t *remoteCluster) ensureRoleBinding(ctx context.Context, ns, name string, subject rbacv1.Subject) error {
	api := t.kube.RbacV1().RoleBindings(ns)
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: managerRole}
	cur, err := api.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: managedLabels}, RoleRef: ref, Subjects: []rbacv1.Subject{subject}}, metav1.CreateOptions{})
	case err == nil:
		if err := checkRoleRef(fmt.Sprintf("RoleBinding %s/%s", ns, name), cur.RoleRef, ref.Kind); err != nil {
			return err
		}
		cur.Subjects = []rbacv1.Subject{subject}
		_, err = api.Update(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("make RoleBinding %s/%s: %w", ns, name, err)
	}
	return nil
}

// tokenSecrets lists the token Secrets soll made for the ServiceAccount.
func (t *remoteCluster) tokenSecrets(ctx context.Context) ([]corev1.Secret, error) {
	list, err := t.kube.CoreV1().Secrets(t.systemNS).List(ctx, metav1.ListOptions{LabelSelector: tokenOfLabel + "=" + t.serviceAccount})
	if err != nil {
		return nil, fmt.Errorf("list the token Secrets of %s/%s: %w", t.systemNS, t.serviceAccount, err)
	}
	return slices.DeleteFunc(list.Items, func(s corev1.Secret) bool {
		return s.Type != corev1.SecretTypeServiceAccountToken || s.Annotations[corev1.ServiceAccountNameKey] != t.serviceAccount
	}), nil
}

// newToken makes a long-lived token Secret of the ServiceAccount and
// waits for the token controller to fill it.
func (t *remoteCluster) newToken(ctx context.Context) (*corev1.Secret, error) {
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: t.serviceAccount + "-token-", Namespace: t.systemNS,
			Labels:      map[string]string{tokenOfLabel: t.serviceAccount, "app.kubernetes.io/managed-by": "soll"},
			Annotations: map[string]string{corev1.ServiceAccountNameKey: t.serviceAccount},
		},
		Type: corev1.SecretTypeServiceAccountToken,
	}
	made, err := t.kube.CoreV1().Secrets(t.systemNS).Create(ctx, sec, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create a token Secret for %s/%s: %w", t.systemNS, t.serviceAccount, err)
	}
	return t.waitToken(ctx, made.Name)
}

// waitToken waits until the token controller has put a token in Secret
// name, for at most tokenWait.
func (t *remoteCluster) waitToken(ctx context.Context, name string) (*corev1.Secret, error) {
	var filled *corev1.Secret
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, tokenWait, true, func(ctx context.Context) (bool, error) {
		s, err := t.kube.CoreV1().Secrets(t.systemNS).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if len(s.Data[corev1.ServiceAccountTokenKey]) > 0 {
			filled = s
			return true, nil
		}
		return false, nil
	})
	if errors.Is(err, context.DeadlineExceeded) || wait.Interrupted(err) {
		return nil, fmt.Errorf("token Secret %s/%s is still empty after %s: is the cluster's token controller (kube-controller-manager) running?", t.systemNS, name, tokenWait)
	}
	if err != nil {
		return nil, fmt.Errorf("read token Secret %s/%s: %w", t.systemNS, name, err)
	}
	return filled, nil
}

// currentToken returns a filled token Secret of the ServiceAccount: one soll made
// before, else a new one.
func (t *remoteCluster) currentToken(ctx context.Context) (*corev1.Secret, error) {
	secrets, err := t.tokenSecrets(ctx)
	if err != nil {
		return nil, err
	}
	for i := range secrets {
		if len(secrets[i].Data[corev1.ServiceAccountTokenKey]) > 0 {
			return &secrets[i], nil
		}
	}
	return t.newToken(ctx)
}

// caFor is the CA soll is to trust for the remoteCluster: the kubeconfig's, which
// verifies the server at this URL, else the token Secret's ca.crt.
func (t *remoteCluster) caFor(sec *corev1.Secret) string {
	if len(t.caData) > 0 {
		return string(t.caData)
	}
	return string(sec.Data[corev1.ServiceAccountRootCAKey])
}
