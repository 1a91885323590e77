package apiclient

import (
	"context"
	"net/http"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

const projectsPath = "/api/v1/projects"

func projectPath(name string, sub ...string) string { return pathOf(projectsPath, name, sub...) }

// ListProjects lists the projects the caller may see, by name.
func (c *Client) ListProjects(ctx context.Context) ([]sollv1.Project, error) {
	return listItems[sollv1.Project](ctx, c, projectsPath)
}

// GetProject reads one project.
func (c *Client) GetProject(ctx context.Context, name string) (*sollv1.Project, error) {
	return c.projectCall(ctx, http.MethodGet, projectPath(name), nil)
}

// CreateProject creates p (named by its metadata.name).
func (c *Client) CreateProject(ctx context.Context, p *sollv1.Project) (*sollv1.Project, error) {
	return c.projectCall(ctx, http.MethodPost, projectsPath, p)
}

// UpdateProject replaces a project's spec, labels and annotations. With
// metadata.resourceVersion set, a concurrent change is a Conflict error.
func (c *Client) UpdateProject(ctx context.Context, p *sollv1.Project) (*sollv1.Project, error) {
	return c.projectCall(ctx, http.MethodPut, projectPath(p.Name), p)
}

// PatchProject applies a JSON merge patch to a project's spec and
// metadata labels and annotations; metadata.resourceVersion in the patch
// makes a concurrent change a Conflict error.
func (c *Client) PatchProject(ctx context.Context, name string, patch map[string]any) (*sollv1.Project, error) {
	return call[sollv1.Project](ctx, c, request{method: http.MethodPatch, path: projectPath(name), body: patch, contentType: "application/merge-patch+json"})
}

// CreateProjectToken issues an API token for a role of a project; the
// answer is the only place the token appears.
func (c *Client) CreateProjectToken(ctx context.Context, project, role string, req apitypes.TokenRequest) (*apitypes.Token, error) {
	return call[apitypes.Token](ctx, c, request{method: http.MethodPost, path: projectPath(project, "roles", role, "tokens"), body: req})
}

// DeleteProjectToken revokes a token of a project role.
func (c *Client) DeleteProjectToken(ctx context.Context, project, role, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: projectPath(project, "roles", role, "tokens", id)}, nil)
}

// DeleteProject deletes a project.
func (c *Client) DeleteProject(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: projectPath(name)}, nil)
}

func (c *Client) projectCall(ctx context.Context, method, path string, body any) (*sollv1.Project, error) {
	return call[sollv1.Project](ctx, c, request{method: method, path: path, body: body})
}
