package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/cluster"
)

// Registered clusters are Cluster objects of soll's namespace; the token
// or client certificate of one is in a Secret beside it (labelled
// soll.dev/secret-type: cluster, named cluster-<name>, owned by the
// Cluster). The endpoints never return a credential's value; RBAC's
// object for them is the cluster's server URL.

// Keys of a cluster Secret.
const (
	clusterTokenKey = "token"
	clusterCertKey  = corev1.TLSCertKey
	clusterKeyKey   = corev1.TLSPrivateKeyKey
)

// Kinds of cluster credentials, as the API names them.
const (
	credToken       = "token"
	credCertificate = "certificate"
	credExec        = "exec"
	credMissing     = "missing"
)

// clusterSecretName is the name of the Secret the API makes for the
// credentials of Cluster name.
func clusterSecretName(name string) string { return "cluster-" + name }

// checkCluster checks what the Kubernetes API's schema cannot: that c can
// be used as soll would use it, with the credentials of sec (nil for exec
// credentials). Errors name the field of the request to blame and say
// what to do; they never show a credential.
func checkCluster(c *sollv1.Cluster, sec *corev1.Secret) error {
	if errs := validation.IsDNS1123Subdomain(c.Name); len(errs) > 0 {
		return invalid("name", "name %q is not a valid cluster name (lower-case letters, digits, - and .): %s", c.Name, strings.Join(errs, "; "))
	}
	if len(clusterSecretName(c.Name)) > validation.DNS1123SubdomainMaxLength {
		return invalid("name", "name %q is too long: at most %d characters", c.Name, validation.DNS1123SubdomainMaxLength-len(clusterSecretName("")))
	}
	if c.Name == sollv1.InClusterName {
		return invalid("name", "%s names the cluster soll runs in, which needs no registration: choose another name", sollv1.InClusterName)
	}
	sp := &c.Spec
	u, err := url.Parse(sp.Server)
	switch {
	case sp.Server == "":
		return invalid("server", "server is required: the https:// URL of the cluster's API server")
	case err != nil || u.Host == "" || u.Scheme != "https":
		return invalid("server", "server %q is not an https://host[:port] URL of an API server", sp.Server)
	case u.User != nil:
		return invalid("server", "server holds credentials: give them in credentials, not in the URL")
	case u.RawQuery != "" || u.Fragment != "":
		return invalid("server", "server %q has a query or fragment: give the API server's base URL", sp.Server)
	case cluster.IsInClusterServer(sp.Server):
		return invalid("server", "%s is the cluster soll runs in (%s), which needs no registration", sp.Server, sollv1.InClusterName)
	}
	if sp.CAData != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(sp.CAData)) {
		return invalid("caData", "caData holds no PEM certificate: give the PEM of the CA that signs the API server's certificate")
	}
	if sp.TLSServerName != "" {
		if errs := validation.IsDNS1123Subdomain(strings.ToLower(sp.TLSServerName)); len(errs) > 0 {
			return invalid("tlsServerName", "tlsServerName %q is not a DNS name: %s", sp.TLSServerName, strings.Join(errs, "; "))
		}
	}
	if sp.ProxyURL != "" {
		pu, err := url.Parse(sp.ProxyURL)
		if err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https" && pu.Scheme != "socks5") {
			return invalid("proxyURL", "proxyURL %q is not an http://, https:// or socks5:// URL with a host", sp.ProxyURL)
		}
	}
	seen := map[string]bool{}
	for i, ns := range sp.Namespaces {
		f := fmt.Sprintf("namespaces[%d]", i)
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return invalid(f, "%q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
		if seen[ns] {
			return invalid(f, "namespace %s is listed twice", ns)
		}
		seen[ns] = true
	}
	if errs := metav1validation.ValidateLabels(c.Labels, field.NewPath("labels")); len(errs) > 0 {
		return invalid("labels", "%s", errs.ToAggregate().Error())
	}
	if sp.Exec != nil {
		return checkExec(sp.Exec)
	}
	if sec != nil {
		if crt := sec.Data[clusterCertKey]; len(crt) > 0 {
			if _, err := tls.X509KeyPair(crt, sec.Data[clusterKeyKey]); err != nil {
				return invalid("credentials.certData", "the client certificate and key do not form a pair: %v", err)
			}
		}
	}
	// What the controller checks before it builds the cluster's client:
	// nothing is stored that it would refuse.
	if err := cluster.Validate(c); err != nil {
		return invalid("spec", "%v", err)
	}
	if sec != nil && c.Spec.SecretName != "" {
		full := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: c.Spec.SecretName, Labels: map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeCluster, sollv1.ClusterSecretLabel: c.Name}},
			Data:       sec.Data,
		}
		if err := cluster.ValidateSecret(c, full); err != nil {
			return invalid("credentials", "%v", err)
		}
	}
	return nil
}

func checkExec(e *sollv1.ClusterExec) error {
	switch {
	case strings.TrimSpace(e.Command) == "":
		return invalid("credentials.exec.command", "exec needs a command: an absolute path or a name looked up in PATH")
	case e.APIVersion != "" && e.APIVersion != "client.authentication.k8s.io/v1" && e.APIVersion != "client.authentication.k8s.io/v1beta1":
		return invalid("credentials.exec.apiVersion", "apiVersion %q is not client.authentication.k8s.io/v1 or v1beta1", e.APIVersion)
	case e.TimeoutSeconds < 0 || e.TimeoutSeconds > 300:
		return invalid("credentials.exec.timeoutSeconds", "timeoutSeconds %d is not between 0 and 300", e.TimeoutSeconds)
	}
	for i, env := range e.Env {
		if env.Name == "" || strings.ContainsAny(env.Name, "=\x00") {
			return invalid(fmt.Sprintf("credentials.exec.env[%d].name", i), "environment variable names are non-empty and have no = in them")
		}
	}
	return nil
}

// credentialsData checks the shape of q: exactly one kind of credentials.
// It returns the data of the Secret that holds them, nil for exec.
func credentialsData(q *apitypes.ClusterCredentials) (map[string][]byte, error) {
	given := []string{}
	given = appendIfSet(given, q.Token != "", "token")
	given = appendIfSet(given, q.CertData != "" || q.KeyData != "", "certData and keyData")
	given = appendIfSet(given, q.Exec != nil, "exec")
	switch {
	case len(given) == 0:
		return nil, invalid("credentials.token", "give one kind of credentials: token, certData and keyData, or exec")
	case len(given) > 1:
		return nil, invalid("credentials", "give one kind of credentials, not both %s and %s", given[0], given[1])
	case q.Token != "" && strings.ContainsAny(strings.TrimSpace(q.Token), " \t\r\n"):
		return nil, invalid("credentials.token", "the token has whitespace in it: give the bearer token alone")
	case q.CertData != "" && q.KeyData == "":
		return nil, invalid("credentials.keyData", "a client certificate needs its key in keyData")
	case q.KeyData != "" && q.CertData == "":
		return nil, invalid("credentials.certData", "a client key needs its certificate in certData")
	case q.Token != "":
		return map[string][]byte{clusterTokenKey: []byte(strings.TrimSpace(q.Token))}, nil
	case q.CertData != "":
		return map[string][]byte{clusterCertKey: []byte(q.CertData), clusterKeyKey: []byte(q.KeyData)}, nil
	}
	return nil, nil
}

func appendIfSet(list []string, on bool, s string) []string {
	if on {
		return append(list, s)
	}
	return list
}

// credentialsKind names the credentials of c; sec is its Secret (nil when
// there is none).
func credentialsKind(c *sollv1.Cluster, sec *corev1.Secret) string {
	switch {
	case c.Spec.Exec != nil:
		return credExec
	case sec == nil:
		return credMissing
	case len(sec.Data[clusterTokenKey]) > 0:
		return credToken
	case len(sec.Data[clusterCertKey]) > 0 && len(sec.Data[clusterKeyKey]) > 0:
		return credCertificate
	}
	return credMissing
}

// presentCluster describes c without any credential; sec is its Secret.
func presentCluster(c *sollv1.Cluster, sec *corev1.Secret) apitypes.Cluster {
	sp := &c.Spec
	out := apitypes.Cluster{
		Name: c.Name, Server: sp.Server, Labels: c.Labels, Namespaces: sp.Namespaces,
		ClusterResources: sp.AllowsClusterResources(), HasCAData: sp.CAData != "",
		TLSServerName: sp.TLSServerName, ProxyURL: sp.ProxyURL,
		Credentials: credentialsKind(c, sec), SecretName: sp.SecretName,
	}
	if sp.Exec != nil {
		out.ExecCommand = sp.Exec.Command
	}
	st := &c.Status
	if cond := meta.FindStatusCondition(st.Conditions, sollv1.ClusterReachable); cond != nil || st.LastContact != nil || st.ServerVersion != "" {
		state := &apitypes.ClusterState{
			Reachable: string(metav1.ConditionUnknown), ServerVersion: st.ServerVersion,
			Applications: st.Applications, WatchedKinds: st.WatchedKinds, WatchedObjects: st.WatchedObjects,
		}
		if cond != nil {
			state.Reachable, state.Message = string(cond.Status), cond.Message
		}
		if st.LastContact != nil {
			t := st.LastContact.UTC()
			state.LastContact = &t
		}
		out.Status = state
	}
	return out
}

// inClusterEntry is the cluster soll runs in.
func inClusterEntry() apitypes.Cluster {
	return apitypes.Cluster{Name: sollv1.InClusterName, Server: InClusterServer, InCluster: true, ClusterResources: true}
}

// clusters reads the Clusters of soll's namespace and their Secrets.
func (s *Server) clusters(ctx context.Context) ([]sollv1.Cluster, map[string]*corev1.Secret, error) {
	var list sollv1.ClusterList
	if err := s.opts.APIReader.List(ctx, &list, client.InNamespace(s.opts.Namespace)); err != nil {
		return nil, nil, fmt.Errorf("list clusters: %w", err)
	}
	var secrets corev1.SecretList
	if err := s.opts.APIReader.List(ctx, &secrets, client.InNamespace(s.opts.Namespace), client.MatchingLabels{sollv1.SecretTypeLabel: sollv1.SecretTypeCluster}); err != nil {
		return nil, nil, fmt.Errorf("list cluster secrets: %w", err)
	}
	byName := map[string]*corev1.Secret{}
	for i := range secrets.Items {
		byName[secrets.Items[i].Name] = &secrets.Items[i]
	}
	return list.Items, byName, nil
}

// listClusters lists the cluster soll runs in and the registered ones
// that p may get, by name.
func (s *Server) listClusters(w http.ResponseWriter, r *http.Request, p *Principal) error {
	items := []apitypes.Cluster{}
	if c := inClusterEntry(); s.opts.RBAC.Allowed(p, resClusters, actGet, c.Server) {
		items = append(items, c)
	}
	list, secrets, err := s.clusters(r.Context())
	if err != nil {
		return err
	}
	for i := range list {
		c := &list[i]
		if s.opts.RBAC.Allowed(p, resClusters, actGet, c.Spec.Server) {
			items = append(items, presentCluster(c, secrets[c.Spec.SecretName]))
		}
	}
	slices.SortStableFunc(items[min(1, len(items)):], func(a, b apitypes.Cluster) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, apitypes.List[apitypes.Cluster]{Items: items})
	return nil
}

// clusterNotFound is the answer about cluster name when there is none,
// and when the caller may not get it.
func clusterNotFound(name string) *Error {
	return notFound("no cluster %s; GET /api/v1/clusters lists them", name)
}

// readCluster reads Cluster name and checks p's right to action on its
// server; a cluster p may not get is not found.
func (s *Server) readCluster(r *http.Request, p *Principal, action string) (*sollv1.Cluster, error) {
	name := r.PathValue("name")
	if name == sollv1.InClusterName && action != actGet {
		noteObject(r.Context(), InClusterServer, "", "")
		return nil, invalid("name", "%s is the cluster soll runs in: it has no registration to change or delete", name)
	}
	c := &sollv1.Cluster{}
	err := s.opts.APIReader.Get(r.Context(), s.key(name), c)
	if apierrors.IsNotFound(err) {
		return nil, clusterNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read cluster %s: %w", name, err)
	}
	noteObject(r.Context(), c.Spec.Server, "", "")
	noteOf(r.Context()).detail = " (cluster " + name + ")"
	if !s.opts.RBAC.Allowed(p, resClusters, actGet, c.Spec.Server) {
		return nil, clusterNotFound(name)
	}
	return c, s.forbid(p, resClusters, action, c.Spec.Server)
}

// clusterSecret reads the Secret of c, nil when it has none.
func (s *Server) clusterSecret(ctx context.Context, c *sollv1.Cluster) (*corev1.Secret, error) {
	if c.Spec.SecretName == "" {
		return nil, nil
	}
	sec := &corev1.Secret{}
	err := s.opts.APIReader.Get(ctx, s.key(c.Spec.SecretName), sec)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read Secret %s: %w", c.Spec.SecretName, err)
	case sec.Labels[sollv1.SecretTypeLabel] != sollv1.SecretTypeCluster:
		return nil, nil
	}
	return sec, nil
}

func (s *Server) getCluster(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if name := r.PathValue("name"); name == sollv1.InClusterName {
		c := inClusterEntry()
		if !s.opts.RBAC.Allowed(p, resClusters, actGet, c.Server) {
			return clusterNotFound(name)
		}
		writeJSON(w, http.StatusOK, c)
		return nil
	}
	c, err := s.readCluster(r, p, actGet)
	if err != nil {
		return err
	}
	sec, err := s.clusterSecret(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, presentCluster(c, sec))
	return nil
}

// checkUnique refuses a cluster named name or with server when another
// Cluster (not self) has that name or server.
func (s *Server) checkUnique(ctx context.Context, name, server, self string) error {
	list, _, err := s.clusters(ctx)
	if err != nil {
		return err
	}
	for _, c := range list {
		switch {
		case c.Name == self:
		case c.Name == name:
			return &Error{status: http.StatusConflict, Code: "AlreadyExists", Field: "name",
				Message: fmt.Sprintf("cluster %s exists already (server %s): change it with PATCH /api/v1/clusters/%s, or choose another name", name, c.Spec.Server, name)}
		case cluster.NormalServer(c.Spec.Server) == cluster.NormalServer(server):
			return conflictField("server", "cluster %s has server %s already: a server is registered once; change or delete cluster %s first", c.Name, c.Spec.Server, c.Name)
		}
	}
	return nil
}

// newClusterSecret is the Secret of Cluster c's credentials, owned by c.
func (s *Server) newClusterSecret(c *sollv1.Cluster, name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: s.opts.Namespace,
			Labels: map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeCluster, sollv1.ClusterSecretLabel: c.Name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: sollv1.GroupVersion.String(), Kind: "Cluster", Name: c.Name, UID: c.UID,
			}},
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
}

// rollback undoes a step of a change that failed later, even when the
// client has gone: nothing half-made stays.
func (s *Server) rollback(ctx context.Context, obj client.Object) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	uid := obj.GetUID()
	if err := s.opts.Client.Delete(ctx, obj, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
		s.log.ErrorContext(ctx, "roll back a failed change", "kind", fmt.Sprintf("%T", obj), "name", obj.GetName(), "error", err)
	}
}

// createCluster registers a cluster: a Cluster and, for a token or a
// client certificate, the Secret that holds it. The Cluster comes first,
// so that the Secret can be owned by it; when the Secret cannot be made,
// the Cluster is deleted again.
func (s *Server) createCluster(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req apitypes.ClusterRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	req.Server = strings.TrimSpace(req.Server)
	noteObject(ctx, req.Server, "", "")
	noteOf(ctx).detail = " (cluster " + req.Name + ")"
	data, err := credentialsData(&req.Credentials)
	if err != nil {
		return err
	}
	c := &sollv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: req.Name, Namespace: s.opts.Namespace, Labels: req.Labels},
		Spec: sollv1.ClusterSpec{
			Server: req.Server, CAData: req.CAData, TLSServerName: req.TLSServerName, ProxyURL: req.ProxyURL,
			Namespaces: req.Namespaces, ClusterResources: req.ClusterResources, Exec: req.Credentials.Exec,
		},
	}
	secName := ""
	if data != nil {
		secName = clusterSecretName(req.Name)
		c.Spec.SecretName = secName
	}
	if err := checkCluster(c, &corev1.Secret{Data: data}); err != nil {
		return err
	}
	if err := s.forbid(p, resClusters, actCreate, req.Server); err != nil {
		return err
	}
	if err := s.checkUnique(ctx, req.Name, req.Server, ""); err != nil {
		return err
	}
	if secName != "" {
		var cur corev1.Secret
		err := s.opts.APIReader.Get(ctx, s.key(secName), &cur)
		switch {
		case err == nil:
			return conflictField("name", "Secret %s exists already in soll's namespace: delete it, or choose another cluster name", secName)
		case !apierrors.IsNotFound(err):
			return fmt.Errorf("read Secret %s: %w", secName, err)
		}
	}
	if err := s.opts.Client.Create(ctx, c); err != nil {
		return err
	}
	var sec *corev1.Secret
	if secName != "" {
		sec = s.newClusterSecret(c, secName, data)
		if err := s.opts.Client.Create(ctx, sec); err != nil {
			s.rollback(ctx, c)
			return fmt.Errorf("save the credentials of cluster %s in Secret %s (the cluster is not registered): %w", c.Name, secName, err)
		}
	}
	writeJSON(w, http.StatusCreated, presentCluster(c, sec))
	return nil
}

// patchCluster changes a Cluster's settings (not its credentials).
func (s *Server) patchCluster(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req apitypes.ClusterPatch
	if err := decode(r, &req); err != nil {
		return err
	}
	c, err := s.readCluster(r, p, actUpdate)
	if err != nil {
		return err
	}
	ctx := r.Context()
	sp := &c.Spec
	if req.Server != nil && cluster.NormalServer(*req.Server) != cluster.NormalServer(sp.Server) {
		server := strings.TrimSpace(*req.Server)
		if err := s.forbid(p, resClusters, actUpdate, server); err != nil {
			return err
		}
		if err := s.checkUnique(ctx, c.Name, server, c.Name); err != nil {
			return err
		}
		sp.Server = server
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&sp.TLSServerName, req.TLSServerName)
	set(&sp.ProxyURL, req.ProxyURL)
	if req.CAData != nil {
		sp.CAData = *req.CAData
	}
	if req.Namespaces != nil {
		sp.Namespaces = *req.Namespaces
	}
	if req.ClusterResources != nil {
		sp.ClusterResources = req.ClusterResources
	}
	if req.Labels != nil {
		c.Labels = *req.Labels
	}
	if err := checkCluster(c, nil); err != nil {
		return err
	}
	if err := s.opts.Client.Update(ctx, c); err != nil {
		return err
	}
	sec, err := s.clusterSecret(ctx, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, presentCluster(c, sec))
	return nil
}

// setClusterCredentials replaces the credentials of a Cluster: the data
// of its Secret, or, when the kind changes between a Secret's and exec,
// the Secret made or deleted with the Cluster's spec changed to match.
func (s *Server) setClusterCredentials(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req apitypes.ClusterCredentials
	if err := decode(r, &req); err != nil {
		return err
	}
	c, err := s.readCluster(r, p, actUpdate)
	if err != nil {
		return err
	}
	data, err := credentialsData(&req)
	if err != nil {
		return err
	}
	ctx := r.Context()
	old, err := s.clusterSecret(ctx, c)
	if err != nil {
		return err
	}
	want := *c
	want.Spec.Exec = req.Exec
	want.Spec.SecretName = ""
	if data != nil {
		want.Spec.SecretName = clusterSecretName(c.Name)
		if old != nil {
			want.Spec.SecretName = old.Name
		}
	}
	if err := checkCluster(&want, &corev1.Secret{Data: data}); err != nil {
		return err
	}
	var made, sec *corev1.Secret
	switch {
	case data != nil && old != nil:
		old.Data, old.StringData = data, nil
		if err := s.opts.Client.Update(ctx, old); err != nil {
			return fmt.Errorf("replace the credentials in Secret %s: %w", old.Name, err)
		}
		sec = old
	case data != nil:
		var cur corev1.Secret
		switch err := s.opts.APIReader.Get(ctx, s.key(want.Spec.SecretName), &cur); {
		case err == nil:
			return conflictField("name", "Secret %s exists already in soll's namespace and does not hold cluster credentials: delete it first", want.Spec.SecretName)
		case !apierrors.IsNotFound(err):
			return fmt.Errorf("read Secret %s: %w", want.Spec.SecretName, err)
		}
		made = s.newClusterSecret(c, want.Spec.SecretName, data)
		if err := s.opts.Client.Create(ctx, made); err != nil {
			return fmt.Errorf("save the credentials in Secret %s: %w", made.Name, err)
		}
		sec = made
	}
	if want.Spec.SecretName != c.Spec.SecretName || !execEqual(want.Spec.Exec, c.Spec.Exec) {
		if err := s.opts.Client.Update(ctx, &want); err != nil {
			if made != nil {
				s.rollback(ctx, made)
			}
			return err
		}
		if data == nil && old != nil && ownedBy(old, c) {
			if err := s.opts.Client.Delete(ctx, old, client.Preconditions{UID: &old.UID}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete Secret %s, which held the previous credentials: %w", old.Name, err)
			}
		}
	}
	writeJSON(w, http.StatusOK, presentCluster(&want, sec))
	return nil
}

func execEqual(a, b *sollv1.ClusterExec) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Command == b.Command && slices.Equal(a.Args, b.Args) && slices.Equal(a.Env, b.Env) &&
		a.APIVersion == b.APIVersion && a.TimeoutSeconds == b.TimeoutSeconds
}

// ownedBy reports whether obj has an owner reference to c.
func ownedBy(obj metav1.Object, c *sollv1.Cluster) bool {
	return slices.ContainsFunc(obj.GetOwnerReferences(), func(o metav1.OwnerReference) bool { return o.UID == c.UID })
}

// appsOfCluster counts the Applications whose destination is c.
func (s *Server) appsOfCluster(ctx context.Context, c *sollv1.Cluster) (int, error) {
	var apps sollv1.ApplicationList
	if err := s.opts.Client.List(ctx, &apps, client.InNamespace(s.opts.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return 0, fmt.Errorf("list applications: %w", err)
	}
	n := 0
	for i := range apps.Items {
		d := &apps.Items[i].Spec.Destination
		if d.Name == c.Name || d.Server != "" && cluster.NormalServer(d.Server) == cluster.NormalServer(c.Spec.Server) {
			n++
		}
	}
	return n, nil
}

// deleteCluster removes a Cluster and the Secret of its credentials. The
// Applications that deploy there are left alone: the answer says how many.
func (s *Server) deleteCluster(w http.ResponseWriter, r *http.Request, p *Principal) error {
	c, err := s.readCluster(r, p, actDelete)
	if err != nil {
		return err
	}
	ctx := r.Context()
	sec, err := s.clusterSecret(ctx, c)
	if err != nil {
		return err
	}
	if err := s.opts.Client.Delete(ctx, c, client.Preconditions{UID: &c.UID}); err != nil {
		return err
	}
	if sec != nil && ownedBy(sec, c) {
		if err := s.opts.Client.Delete(ctx, sec, client.Preconditions{UID: &sec.UID}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("cluster %s deleted, but not Secret %s of its credentials: %w", c.Name, sec.Name, err)
		}
	}
	n, err := s.appsOfCluster(ctx, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitypes.ClusterDeleted{Name: c.Name, Applications: n})
	return nil
}
