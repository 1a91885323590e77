package server

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/project"
	"soll.dev/internal/render/helm"
	"soll.dev/internal/repocreds"
	"soll.dev/internal/source"
	"soll.dev/internal/source/git"
)

func presentRepository(sec *corev1.Secret) apitypes.Repository {
	d := sec.Data
	proj := repocreds.Project(sec)
	return apitypes.Repository{
		Name: sec.Name, Type: sec.Labels[sollv1.SecretTypeLabel], URL: strings.TrimSpace(string(d["url"])), Username: string(d["username"]),
		HasPassword: len(d["password"]) > 0, HasBearerToken: len(d["bearerToken"]) > 0,
		HasSSHPrivateKey: len(d["sshPrivateKey"]) > 0, HasTLSClientCert: len(d["tlsClientCert"]) > 0,
		Project: proj, Shared: proj == "" && sec.Labels[sollv1.SharedLabel] == "true",
		CredentialsSecret: strings.TrimSpace(string(d[repocreds.CredentialsSecretKey])),
	}
}

// isRepositorySecret tells a repository Secret from the other Secrets of
// soll's namespace, which the repository endpoints never touch.
func isRepositorySecret(sec *corev1.Secret) bool { return repocreds.IsSecret(sec) }

func (s *Server) repositorySecrets(ctx context.Context) ([]corev1.Secret, error) {
	var list corev1.SecretList
	err := s.opts.APIReader.List(ctx, &list, client.InNamespace(s.opts.Namespace), client.HasLabels{sollv1.SecretTypeLabel})
	if err != nil {
		return nil, fmt.Errorf("list repository secrets: %w", err)
	}
	return slices.DeleteFunc(list.Items, func(sec corev1.Secret) bool { return !isRepositorySecret(&sec) }), nil
}

// listRepositories lists the repository Secrets p may get; it never
// returns a password, token or key.
func (s *Server) listRepositories(w http.ResponseWriter, r *http.Request, p *Principal) error {
	secrets, err := s.repositorySecrets(r.Context())
	if err != nil {
		return err
	}
	items := []apitypes.Repository{}
	for i := range secrets {
		repo := presentRepository(&secrets[i])
		if s.opts.RBAC.Allowed(p, resRepositories, actGet, repo.URL) {
			items = append(items, repo)
		}
	}
	slices.SortFunc(items, func(a, b apitypes.Repository) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, apitypes.List[apitypes.Repository]{Items: items})
	return nil
}

// repoData is the request q as the data of a repository Secret.
func repoData(q *apitypes.RepositoryRequest) map[string][]byte {
	d := map[string][]byte{}
	for k, v := range map[string]string{
		"url": strings.TrimSpace(q.URL), repocreds.ProjectKey: q.Project, "username": q.Username, "password": q.Password, "bearerToken": q.BearerToken,
		"sshPrivateKey": q.SSHPrivateKey, "sshPassphrase": q.SSHPassphrase, "sshKnownHosts": q.SSHKnownHosts,
		"tlsClientCert": q.TLSClientCert, "tlsClientKey": q.TLSClientKey, "caCert": q.CACert,
	} {
		if v != "" {
			d[k] = []byte(v)
		}
	}
	return d
}

// Transports of repository URLs.
const (
	transportHTTP = "http"
	transportSSH  = "ssh"
	transportOCI  = "oci"
)

var scpLike = regexp.MustCompile(`^[^@/\s]+@[^:/\s]+:\S+$`)

// repoTransport checks a repository URL (never echoing it: it may hold a
// password by mistake) and returns its transport.
func repoTransport(raw string) (string, error) {
	u := strings.TrimSpace(raw)
	if u == "" {
		return "", invalid("url", "url is required")
	}
	scheme, _, ok := strings.Cut(u, "://")
	if !ok {
		if scpLike.MatchString(u) {
			return transportSSH, nil
		}
		return "", invalid("url", "url must be https://host/path, http://..., ssh://..., oci://... or user@host:path")
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Host == "" {
		return "", invalid("url", "url does not parse as a URL with a host")
	}
	if _, hasPassword := pu.User.Password(); hasPassword || (pu.User != nil && strings.ToLower(scheme) != "ssh") {
		return "", invalid("url", "url holds credentials: give them in username and password (or another credentials field), not in the URL")
	}
	switch strings.ToLower(scheme) {
	case "https", "http":
		return transportHTTP, nil
	case "ssh":
		return transportSSH, nil
	case "oci":
		return transportOCI, nil
	}
	return "", invalid("url", "url scheme %q is not https, http, ssh or oci", scheme)
}

// validateRepo checks the request q and returns the URL's transport: a
// valid URL and exactly one kind of credentials, fit for the transport
// and well-formed; errors name the field.
func validateRepo(q *apitypes.RepositoryRequest) (string, error) {
	transport, err := repoTransport(q.URL)
	if err != nil {
		return "", err
	}
	if q.Type != "" && q.Type != sollv1.SecretTypeRepository && q.Type != sollv1.SecretTypeRepoCreds {
		return "", invalid("type", "type %q is not %s or %s", q.Type, sollv1.SecretTypeRepository, sollv1.SecretTypeRepoCreds)
	}
	if q.Name != "" {
		if errs := validation.IsDNS1123Subdomain(q.Name); len(errs) > 0 {
			return "", invalid("name", "name %q is not a valid Secret name: %s", q.Name, strings.Join(errs, "; "))
		}
	}
	if q.Project != "" {
		if errs := validation.IsDNS1123Subdomain(q.Project); len(errs) > 0 {
			return "", invalid("project", "project %q is not a valid Project name: %s", q.Project, strings.Join(errs, "; "))
		}
		if q.Shared {
			return "", invalid("shared", "credentials of project %s serve that Project only: give project or shared, not both", q.Project)
		}
	}
	kinds := []struct {
		what, field string
		set, ssh    bool
	}{
		{"username and password", "password", q.Username != "" || q.Password != "", false},
		{"bearerToken", "bearerToken", q.BearerToken != "", false},
		{"tlsClientCert and tlsClientKey", "tlsClientCert", q.TLSClientCert != "" || q.TLSClientKey != "", false},
		{"sshPrivateKey", "sshPrivateKey", q.SSHPrivateKey != "", true},
	}
	var given []int
	var fit []string
	firstFit := ""
	for i, k := range kinds {
		if k.ssh != (transport == transportSSH) {
			if k.set {
				return "", invalid(k.field, "%s URLs do not take %s: give %s", transport, k.what, strings.Join(fitKinds(transport), ", or "))
			}
			continue
		}
		fit = append(fit, k.what)
		firstFit = cmp.Or(firstFit, k.field)
		if k.set {
			given = append(given, i)
		}
	}
	switch {
	case len(given) == 0:
		return "", invalid(firstFit, "give one kind of credentials: %s", strings.Join(fit, ", or "))
	case len(given) > 1:
		return "", invalid(kinds[given[1]].field, "give one kind of credentials, not both %s and %s", kinds[given[0]].what, kinds[given[1]].what)
	}
	return transport, validateRepoValues(q, transport)
}

func fitKinds(transport string) []string {
	if transport == transportSSH {
		return []string{"sshPrivateKey"}
	}
	return []string{"username and password", "bearerToken", "tlsClientCert and tlsClientKey"}
}

// validateRepoValues checks the values of the credentials q gives. The
// parsers' messages describe structure, never content.
func validateRepoValues(q *apitypes.RepositoryRequest, transport string) error {
	switch {
	case q.Password != "" && q.Username == "":
		return invalid("username", "a password needs a username (any non-empty name for hosts that take a token as the password)")
	case q.Username != "" && q.Password == "":
		return invalid("password", "username %q needs a password", q.Username)
	case q.TLSClientCert != "" && q.TLSClientKey == "":
		return invalid("tlsClientKey", "a TLS client certificate needs its key in tlsClientKey")
	case q.TLSClientKey != "" && q.TLSClientCert == "":
		return invalid("tlsClientCert", "a TLS client key needs its certificate in tlsClientCert")
	case q.SSHPassphrase != "" && q.SSHPrivateKey == "":
		return invalid("sshPassphrase", "sshPassphrase decrypts sshPrivateKey, which is not given")
	case q.CACert != "" && transport == transportSSH:
		return invalid("caCert", "ssh URLs do not use a CA certificate: give the host's key in sshKnownHosts")
	case q.SSHKnownHosts != "" && transport != transportSSH:
		return invalid("sshKnownHosts", "sshKnownHosts is for ssh URLs only")
	}
	if q.TLSClientCert != "" {
		if _, err := tls.X509KeyPair([]byte(q.TLSClientCert), []byte(q.TLSClientKey)); err != nil {
			return invalid("tlsClientCert", "the TLS client certificate and key do not form a pair: %v", err)
		}
	}
	if q.CACert != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(q.CACert)) {
		return invalid("caCert", "caCert holds no PEM certificate")
	}
	if q.SSHPrivateKey != "" {
		_, err := gossh.ParsePrivateKey([]byte(q.SSHPrivateKey))
		var missing *gossh.PassphraseMissingError
		if errors.As(err, &missing) {
			if q.SSHPassphrase == "" {
				return invalid("sshPassphrase", "the SSH private key is encrypted: give its passphrase in sshPassphrase")
			}
			_, err = gossh.ParsePrivateKeyWithPassphrase([]byte(q.SSHPrivateKey), []byte(q.SSHPassphrase))
			if errors.Is(err, x509.IncorrectPasswordError) {
				return invalid("sshPassphrase", "sshPassphrase does not decrypt the SSH private key")
			}
		}
		if err != nil {
			return invalid("sshPrivateKey", "the SSH private key does not parse: %v", err)
		}
	}
	for rest := []byte(q.SSHKnownHosts); len(strings.TrimSpace(string(rest))) > 0; {
		var err error
		if _, _, _, _, rest, err = gossh.ParseKnownHosts(rest); err != nil {
			return invalid("sshKnownHosts", "sshKnownHosts is not in known_hosts format (as ssh-keyscan prints it): %v", err)
		}
	}
	return nil
}

// repoSecretName is the Secret name of a repository whose request names
// none: one per type, normalised URL and Project (none for unscoped
// credentials, whose names are those they had before Projects scoped
// credentials).
func repoSecretName(typ, repoURL, proj string) string {
	key := project.NormalizeRepoURL(repoURL)
	if proj != "" {
		key = proj + " " + key
	}
	h := sha256.Sum256([]byte(key))
	prefix := "repo-"
	if typ == sollv1.SecretTypeRepoCreds {
		prefix = "creds-"
	}
	return prefix + hex.EncodeToString(h[:])[:10]
}

// createRepository saves a repository's credentials as a repository
// Secret. A repository (or template URL) has one Secret of each type for
// each Project (and one that names none): a second is refused, and
// ?upsert=true replaces the first.
func (s *Server) createRepository(w http.ResponseWriter, r *http.Request, p *Principal) error {
	upsert, err := boolParam(r, "upsert", false)
	if err != nil {
		return err
	}
	var req apitypes.RepositoryRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if _, err := validateRepo(&req); err != nil {
		return err
	}
	ctx := r.Context()
	repoURL, typ := strings.TrimSpace(req.URL), cmp.Or(req.Type, sollv1.SecretTypeRepository)
	noteObject(ctx, repoURL, "", "")
	if err := s.forbid(p, resRepositories, actCreate, repoURL); err != nil {
		return err
	}
	if err := s.checkCredentialsProject(ctx, req.Project); err != nil {
		return err
	}
	secrets, err := s.repositorySecrets(ctx)
	if err != nil {
		return err
	}
	name := req.Name
	for _, sec := range secrets {
		if sec.Labels[sollv1.SecretTypeLabel] != typ || project.NormalizeRepoURL(string(sec.Data["url"])) != project.NormalizeRepoURL(repoURL) ||
			repocreds.Project(&sec) != req.Project {
			continue
		}
		if name == "" {
			name = sec.Name
		}
		if sec.Name != name {
			return conflictField("name", "the credentials of %s%s are in Secret %s already: replace them (name %s, ?upsert=true) or delete that Secret first",
				repoURL, forProject(req.Project), sec.Name, sec.Name)
		}
	}
	name = cmp.Or(name, repoSecretName(typ, repoURL, req.Project))
	noteOf(ctx).detail = " (Secret " + name + ")"

	var cur corev1.Secret
	err = s.opts.APIReader.Get(ctx, s.key(name), &cur)
	switch {
	case apierrors.IsNotFound(err):
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.opts.Namespace, Labels: map[string]string{sollv1.SecretTypeLabel: typ}},
			Type:       corev1.SecretTypeOpaque,
			Data:       repoData(&req),
		}
		if req.Shared {
			sec.Labels[sollv1.SharedLabel] = "true"
		}
		if err := s.opts.Client.Create(ctx, sec); err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, presentRepository(sec))
		return nil
	case err != nil:
		return fmt.Errorf("read Secret %s: %w", name, err)
	case !isRepositorySecret(&cur):
		return conflictField("name", "Secret %s exists and does not hold repository credentials: choose another name", name)
	case !upsert:
		return &Error{status: http.StatusConflict, Code: "AlreadyExists", Field: "name",
			Message: fmt.Sprintf("repository Secret %s exists already: pass ?upsert=true to replace its credentials", name)}
	}
	if old := strings.TrimSpace(string(cur.Data["url"])); old != repoURL {
		if err := s.forbid(p, resRepositories, actUpdate, old); err != nil {
			return err
		}
	}
	if err := s.forbid(p, resRepositories, actUpdate, repoURL); err != nil {
		return err
	}
	cur.Labels[sollv1.SecretTypeLabel] = typ
	delete(cur.Labels, sollv1.SharedLabel)
	if req.Shared {
		cur.Labels[sollv1.SharedLabel] = "true"
	}
	cur.Data, cur.StringData = repoData(&req), nil
	if err := s.opts.Client.Update(ctx, &cur); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, presentRepository(&cur))
	return nil
}

// forProject is " for project P" for credentials scoped to P, else "".
func forProject(proj string) string {
	if proj == "" {
		return ""
	}
	return " for project " + proj
}

// checkCredentialsProject refuses credentials for a Project that does not
// exist; the default Project always exists.
func (s *Server) checkCredentialsProject(ctx context.Context, name string) error {
	if name == "" || name == project.DefaultName {
		return nil
	}
	var p sollv1.Project
	err := s.opts.APIReader.Get(ctx, s.key(name), &p)
	switch {
	case apierrors.IsNotFound(err):
		return invalid("project", "Project %s does not exist: create it first, or give another project", name)
	case err != nil:
		return fmt.Errorf("read Project %s: %w", name, err)
	}
	return nil
}

// checkCredentialsRefs refuses an Application whose credentialsRef names
// a Secret the controller would refuse to use (see
// repocreds.CheckRef): not a repository Secret, not one of the
// Application's Project (or shared), or not saved for the source's
// repoURL. The error names the field and never shows the Secret's values.
func (s *Server) checkCredentialsRefs(ctx context.Context, app *sollv1.Application) error {
	check := func(field string, src *sollv1.ApplicationSource) error {
		if src.CredentialsRef == nil {
			return nil
		}
		name := src.CredentialsRef.Name
		var sec corev1.Secret
		found := &sec
		if err := s.opts.APIReader.Get(ctx, s.key(name), &sec); apierrors.IsNotFound(err) {
			found = nil
		} else if err != nil {
			return fmt.Errorf("read Secret %s: %w", name, err)
		}
		if err := repocreds.CheckRef(found, name, app.Spec.Project, src.RepoURL, field); err != nil {
			return invalid(field, "%v", err)
		}
		return nil
	}
	if app.Spec.Source != nil {
		if err := check("spec.source.credentialsRef", app.Spec.Source); err != nil {
			return err
		}
	}
	for i := range app.Spec.Sources {
		if err := check(fmt.Sprintf("spec.sources[%d].credentialsRef", i), &app.Spec.Sources[i]); err != nil {
			return err
		}
	}
	return nil
}

func conflictField(field, format string, args ...any) *Error {
	e := conflict(format, args...)
	e.Field = field
	return e
}

// readRepository reads the repository Secret name and checks p's right to
// action on its URL; other Secrets are not found.
func (s *Server) readRepository(r *http.Request, p *Principal, action string) (*corev1.Secret, error) {
	name := r.PathValue("name")
	var sec corev1.Secret
	err := s.opts.APIReader.Get(r.Context(), s.key(name), &sec)
	if apierrors.IsNotFound(err) || (err == nil && !isRepositorySecret(&sec)) {
		return nil, repoNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read Secret %s: %w", name, err)
	}
	repoURL := strings.TrimSpace(string(sec.Data["url"]))
	noteObject(r.Context(), repoURL, "", sec.UID)
	noteOf(r.Context()).detail = " (Secret " + name + ")"
	if !s.opts.RBAC.Allowed(p, resRepositories, actGet, repoURL) {
		// Answered as a missing Secret: the caller learns neither that it
		// exists nor its URL.
		return nil, repoNotFound(name)
	}
	return &sec, s.forbid(p, resRepositories, action, repoURL)
}

// repoNotFound is the answer about the repository Secret name when there
// is none, and when the caller may not get its repository.
func repoNotFound(name string) *Error {
	return notFound("no repository Secret %s; GET /api/v1/repositories lists them", name)
}

func (s *Server) deleteRepository(w http.ResponseWriter, r *http.Request, p *Principal) error {
	sec, err := s.readRepository(r, p, actDelete)
	if err != nil {
		return err
	}
	if err := s.opts.Client.Delete(r.Context(), sec, client.Preconditions{UID: &sec.UID}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// The kinds of repository a connection test finds.
const (
	repoKindGit  = "git"
	repoKindHelm = "helm"
	repoKindOCI  = "oci"
)

// repoTestTimeout bounds a connection test.
const repoTestTimeout = 15 * time.Second

// testRepository tests credentials that are not saved; it needs the
// right to save them, so that nobody else can make soll connect to
// arbitrary hosts.
func (s *Server) testRepository(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req apitypes.RepositoryRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	transport, err := validateRepo(&req)
	if err != nil {
		return err
	}
	repoURL := strings.TrimSpace(req.URL)
	noteObject(r.Context(), repoURL, "", "")
	if err := s.forbid(p, resRepositories, actCreate, repoURL); err != nil {
		return err
	}
	return s.testConnection(w, r, transport, repoURL, repoData(&req))
}

// testSavedRepository tests the credentials of a repository Secret.
func (s *Server) testSavedRepository(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req apitypes.RepositoryTestRequest
	if err := decodeOptional(r, &req); err != nil {
		return err
	}
	sec, err := s.readRepository(r, p, actGet)
	if err != nil {
		return err
	}
	repoURL := strings.TrimSpace(string(sec.Data["url"]))
	switch {
	case sec.Labels[sollv1.SecretTypeLabel] == sollv1.SecretTypeRepoCreds && req.URL == "":
		return invalid("url", "Secret %s is a credential template for the repositories under %s: give the url of one of them to test", sec.Name, repoURL)
	case sec.Labels[sollv1.SecretTypeLabel] == sollv1.SecretTypeRepoCreds:
		if !repocreds.TemplateMatches(repoURL, req.URL) {
			return invalid("url", "%s is not under %s, the URL of credential template %s", req.URL, repoURL, sec.Name)
		}
		repoURL = strings.TrimSpace(req.URL)
	case req.URL != "" && project.NormalizeRepoURL(req.URL) != project.NormalizeRepoURL(repoURL):
		return invalid("url", "Secret %s holds the credentials of %s only", sec.Name, repoURL)
	}
	transport, err := repoTransport(repoURL)
	if err != nil {
		return err
	}
	data, err := repocreds.Data(r.Context(), s.opts.APIReader, sec)
	if err != nil {
		// Credentials that cannot be read fail the test, as credentials
		// the repository refuses do.
		noteOf(r.Context()).outcome = "failed"
		writeJSON(w, http.StatusOK, apitypes.RepositoryTest{Message: err.Error()})
		return nil
	}
	return s.testConnection(w, r, transport, repoURL, data)
}

// testConnection tests the credentials of a repository Secret's data, as
// the controller would use them, and answers whether they work; a failure
// is an answer, not an error. An oci:// URL is an OCI registry; another
// URL is tried as a Git repository (resolving HEAD), then, over http(s),
// as a Helm chart repository (reading its index.yaml).
func (s *Server) testConnection(w http.ResponseWriter, r *http.Request, transport, repoURL string, data map[string][]byte) error {
	ctx := r.Context()
	creds, err := repocreds.ForRepository(ctx, s.opts.APIReader, s.opts.Namespace, repoURL, data)
	if err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, repoTestTimeout)
	defer cancel()
	var out apitypes.RepositoryTest
	if transport == transportOCI {
		out, _ = testChartRepository(tctx, repoKindOCI, repoURL, creds)
	} else if out, err = s.testGit(tctx, transport, repoURL, creds); err != nil {
		return err
	}
	out.Message = scrub(out.Message, data)
	noteOf(ctx).outcome = "failed"
	if out.OK {
		noteOf(ctx).outcome = "connected"
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// testGit resolves HEAD of repoURL; when that fails over http(s), it tries
// repoURL as a Helm chart repository.
func (s *Server) testGit(ctx context.Context, transport, repoURL string, creds source.Credentials) (apitypes.RepositoryTest, error) {
	resolver, err := s.git()
	if err != nil {
		return apitypes.RepositoryTest{}, fmt.Errorf("git for connection tests: %w", err)
	}
	rev, gitErr := resolver.Resolve(ctx, repoURL, "HEAD", creds)
	switch {
	case gitErr == nil:
		return apitypes.RepositoryTest{OK: true, Kind: repoKindGit, Revision: rev.Commit, Message: "connected: Git repository, HEAD is " + rev.Commit}, nil
	case transport != transportHTTP || ctx.Err() != nil || unreachable(gitErr) ||
		(strings.HasPrefix(strings.ToLower(repoURL), "http://") && !creds.IsZero()):
		// Chart repositories get credentials over https:// only, and a
		// host Git could not reach is not reached by another try.
		return apitypes.RepositoryTest{Message: gitErr.Error()}, nil
	}
	out, helmErr := testChartRepository(ctx, repoKindHelm, repoURL, creds)
	// The Git failure comes first, being the likelier intent; the Helm
	// one is told when it adds something: not when the server refused
	// the credentials to Git already.
	switch {
	case helmErr == nil:
		return out, nil
	case errors.Is(gitErr, source.ErrAuthentication):
		out.Message = gitErr.Error()
	case errors.Is(helmErr, source.ErrRepositoryNotFound):
		out.Message = gitErr.Error() + "; not a Helm repository either (no index.yaml)"
	default:
		out.Message = gitErr.Error() + "; as a Helm repository: " + out.Message
	}
	return out, nil
}

// unreachable reports a failure to reach a host or to trust it.
func unreachable(err error) bool {
	var (
		netErr *net.OpError
		tlsErr *tls.CertificateVerificationError
		uaErr  x509.UnknownAuthorityError
		hnErr  x509.HostnameError
		ciErr  x509.CertificateInvalidError
	)
	return errors.As(err, &netErr) || errors.As(err, &tlsErr) || errors.As(err, &uaErr) || errors.As(err, &hnErr) || errors.As(err, &ciErr)
}

// testChartRepository tests repoURL as a chart repository of kind (helm
// or oci); a failure is in the answer and, for the caller, the error.
func testChartRepository(ctx context.Context, kind, repoURL string, creds source.Credentials) (apitypes.RepositoryTest, error) {
	found, err := helm.CheckRepository(ctx, repoURL, creds, repoTestTimeout)
	if err != nil {
		return apitypes.RepositoryTest{Message: err.Error()}, err
	}
	return apitypes.RepositoryTest{OK: true, Kind: kind, Message: "connected: " + found}, nil
}

// scrub removes the secret values of data from msg; the Git layer never
// puts them there, and this makes sure.
func scrub(msg string, data map[string][]byte) string {
	for _, k := range []string{"password", "bearerToken", "sshPassphrase", "sshPrivateKey", "tlsClientKey"} {
		if v := strings.TrimSpace(string(data[k])); len(v) >= 4 {
			msg = strings.ReplaceAll(msg, v, "<redacted>")
		}
	}
	return msg
}

// Resolver resolves a revision of a Git repository; *git.Fetcher is one.
type Resolver interface {
	Resolve(ctx context.Context, repoURL, revision string, creds source.Credentials) (source.Revision, error)
}

// gitResolver returns r, or a Git fetcher of the server's own, built at
// the first test: a cache in a new temporary directory and no reuse of
// ref listings, so every test asks the remote.
func gitResolver(r Resolver, log *slog.Logger) func() (Resolver, error) {
	if r != nil {
		return func() (Resolver, error) { return r, nil }
	}
	return sync.OnceValues(func() (Resolver, error) {
		dir, err := os.MkdirTemp("", "soll-repo-test-")
		if err != nil {
			return nil, err
		}
		f, err := git.New(git.Options{CacheDir: dir, RevisionTTL: -1, Timeout: repoTestTimeout, Logger: log})
		if err != nil {
			return nil, err
		}
		return f, nil
	})
}
