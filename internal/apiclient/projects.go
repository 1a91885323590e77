package apiclient

import (
	"context"
	"net/http"
	"net/url"

	sollv1 "soll.dev/api/v1alpha1"
)

const projectsPath = "/api/v1/projects"

func projectPath(name string) string { return projectsPath + "/" + url.PathEscape(name) }

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

// UpdateProject replaces a project's spec, labels and annotations.
func (c *Client) UpdateProject(ctx context.Context, p *sollv1.Project) (*sollv1.Project, error) {
	return c.projectCall(ctx, http.MethodPut, projectPath(p.Name), p)
}

// DeleteProject deletes a project.
func (c *Client) DeleteProject(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: projectPath(name)}, nil)
}

func (c *Client) projectCall(ctx context.Context, method, path string, body any) (*sollv1.Project, error) {
	return call[sollv1.Project](ctx, c, request{method: method, path: path, body: body})
}
