package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"soll.dev/internal/apitypes"
)

const reposPath = "/api/v1/repositories"

func repoPath(name string, sub ...string) string { return pathOf(reposPath, name, sub...) }

// Repositories lists the repository credentials the caller may see,
// without their secret values.
func (c *Client) Repositories(ctx context.Context) ([]apitypes.Repository, error) {
	return listItems[apitypes.Repository](ctx, c, reposPath)
}

// CreateRepository saves a repository's credentials as a repository
// Secret. A repository that has credentials already is an AlreadyExists
// error unless upsert, which replaces them.
func (c *Client) CreateRepository(ctx context.Context, req apitypes.RepositoryRequest, upsert bool) (*apitypes.Repository, error) {
	q := url.Values{"upsert": {strconv.FormatBool(upsert)}}
	return call[apitypes.Repository](ctx, c, request{method: http.MethodPost, path: reposPath, query: q, body: req})
}

// DeleteRepository deletes the repository Secret name.
func (c *Client) DeleteRepository(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: repoPath(name)}, nil)
}

// TestRepository tests the credentials of req, which are not saved, with
// req.URL: a Git repository, Helm chart repository or OCI registry. A
// failed connection is an answer (OK false, with the reason in Message),
// not an error.
func (c *Client) TestRepository(ctx context.Context, req apitypes.RepositoryRequest) (*apitypes.RepositoryTest, error) {
	return call[apitypes.RepositoryTest](ctx, c, request{method: http.MethodPost, path: reposPath + "/test", body: req})
}

// TestSavedRepository tests the credentials of the repository Secret
// name, as TestRepository does; a credential template (repo-creds) needs the
// URL of a repository under it in req.URL.
func (c *Client) TestSavedRepository(ctx context.Context, name string, req apitypes.RepositoryTestRequest) (*apitypes.RepositoryTest, error) {
	return call[apitypes.RepositoryTest](ctx, c, request{method: http.MethodPost, path: repoPath(name, "test"), body: req})
}
