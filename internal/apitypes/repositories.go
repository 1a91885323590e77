package apitypes

// Repository describes a repository Secret without its secret values.
type Repository struct {
	Name string `json:"name"`
	// Type is repository (one repository) or repo-creds (credentials for
	// every repository under URL).
	Type     string `json:"type"`
	URL      string `json:"url"`
	Username string `json:"username,omitempty"`
	// The Has fields say which secret values the Secret holds.
	HasPassword      bool `json:"hasPassword,omitempty"`
	HasBearerToken   bool `json:"hasBearerToken,omitempty"`
	HasSSHPrivateKey bool `json:"hasSSHPrivateKey,omitempty"`
	HasTLSClientCert bool `json:"hasTLSClientCert,omitempty"`
	// Project is the Project whose Applications may use the credentials;
	// empty means the default Project's, and every Project's when Shared.
	Project string `json:"project,omitempty"`
	// Shared says that the credentials, which name no Project, serve the
	// Applications of every Project.
	Shared bool `json:"shared,omitempty"`
	// CredentialsSecret names the Secret of soll's namespace that holds
	// the credentials, when the repository Secret keeps them there (its
	// key credentialsSecret); the Has fields then say nothing about them.
	CredentialsSecret string `json:"credentialsSecret,omitempty"`
}

// RepositoryRequest is the body of POST /api/v1/repositories and
// /api/v1/repositories/test: a repository URL and one kind of
// credentials, with the keys of repository Secrets.
type RepositoryRequest struct {
	// Name is the Secret's name; absent means one derived from the type
	// and URL (repo-<hash> or creds-<hash>).
	Name string `json:"name,omitempty"`
	// Type is repository (the default) or repo-creds (a template for
	// every repository whose URL starts with URL).
	Type string `json:"type,omitempty"`
	URL  string `json:"url"`
	// Project, when set, is the one Project whose Applications may use
	// the credentials. Without it they serve the Applications of the
	// default Project, and, with Shared, those of every Project.
	Project string `json:"project,omitempty"`
	// Shared makes credentials that name no Project serve the
	// Applications of every Project.
	Shared bool `json:"shared,omitempty"`

	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	BearerToken   string `json:"bearerToken,omitempty"`
	SSHPrivateKey string `json:"sshPrivateKey,omitempty"`
	SSHPassphrase string `json:"sshPassphrase,omitempty"`
	SSHKnownHosts string `json:"sshKnownHosts,omitempty"`
	TLSClientCert string `json:"tlsClientCert,omitempty"`
	TLSClientKey  string `json:"tlsClientKey,omitempty"`
	CACert        string `json:"caCert,omitempty"`
}

// RepositoryTestRequest is the optional body of POST
// /api/v1/repositories/{name}/test.
type RepositoryTestRequest struct {
	// URL is the repository to test a credential template (repo-creds)
	// with; it must lie under the template's URL.
	URL string `json:"url,omitempty"`
}

// RepositoryTest is the answer of a connection test.
type RepositoryTest struct {
	OK bool `json:"ok"`
	// Kind is what the test found, when OK: git (a Git repository), helm
	// (a Helm chart repository with an index.yaml) or oci (an OCI
	// registry).
	Kind string `json:"kind,omitempty"`
	// Revision is the commit HEAD points to, when OK and Kind is git.
	Revision string `json:"revision,omitempty"`
	// Message says what was found, or why the test failed and what to
	// do; it never holds a secret.
	Message string `json:"message"`
}
