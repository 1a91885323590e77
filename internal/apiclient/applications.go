package apiclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

const appsPath = "/api/v1/applications"

func appPath(name string, sub ...string) string { return pathOf(appsPath, name, sub...) }

// ListOptions filter, sort and page a list of Applications; the zero
// value lists every app the caller may see, by name.
type ListOptions struct {
	// Projects, SyncStatuses, Healths and Namespaces (destination
	// namespaces) keep the apps that match one of their values each.
	Projects, SyncStatuses, Healths, Namespaces []string
	// Selector is a Kubernetes label selector on the apps' labels.
	Selector string
	// Search keeps apps whose name contains it (case-insensitive).
	Search string
	// Sort is name (the default), syncedAt or health; prefix - to reverse.
	Sort string
	// Limit is the page size (1 to apitypes.MaxLimit); zero is the
	// server's default.
	Limit int
}

func (o ListOptions) query(cont string) url.Values {
	q := url.Values{}
	set := func(k string, vs []string) {
		if len(vs) > 0 {
			q.Set(k, strings.Join(vs, ","))
		}
	}
	set("project", o.Projects)
	set("syncStatus", o.SyncStatuses)
	set("health", o.Healths)
	set("namespace", o.Namespaces)
	for k, v := range map[string]string{"selector": o.Selector, "search": o.Search, "sort": o.Sort, "continue": cont} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	return q
}

// ListApplicationsPage returns one page of apps: the first when cont is
// empty, else the one after the page whose Continue token cont is.
func (c *Client) ListApplicationsPage(ctx context.Context, opts ListOptions, cont string) (*apitypes.AppList, error) {
	return call[apitypes.AppList](ctx, c, request{method: http.MethodGet, path: appsPath, query: opts.query(cont)})
}

// ListApplications returns every app matching opts, reading the pages in
// turn.
func (c *Client) ListApplications(ctx context.Context, opts ListOptions) ([]sollv1.Application, error) {
	var apps []sollv1.Application
	cont := ""
	for {
		page, err := c.ListApplicationsPage(ctx, opts, cont)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Items {
			apps = append(apps, *a)
		}
		if cont = page.Continue; cont == "" {
			return apps, nil
		}
	}
}

// GetApplication reads one app.
func (c *Client) GetApplication(ctx context.Context, name string) (*sollv1.Application, error) {
	return c.appCall(ctx, http.MethodGet, appPath(name), nil, nil)
}

// CreateApplication creates app (named by its metadata.name). cascade
// makes deleting it delete its resources too (the resources finalizer).
func (c *Client) CreateApplication(ctx context.Context, app *sollv1.Application, cascade bool) (*sollv1.Application, error) {
	return c.appCall(ctx, http.MethodPost, appsPath, url.Values{"cascade": {strconv.FormatBool(cascade)}}, app)
}

// UpdateApplication replaces an app's spec, labels and annotations. With
// metadata.resourceVersion set, a concurrent change is a Conflict error.
func (c *Client) UpdateApplication(ctx context.Context, app *sollv1.Application) (*sollv1.Application, error) {
	return c.appCall(ctx, http.MethodPut, appPath(app.Name), nil, app)
}

// PatchApplication applies a JSON merge patch to an app's spec and
// metadata labels and annotations; metadata.resourceVersion in the patch
// makes a concurrent change a Conflict error.
func (c *Client) PatchApplication(ctx context.Context, name string, patch map[string]any) (*sollv1.Application, error) {
	return call[sollv1.Application](ctx, c, request{method: http.MethodPatch, path: appPath(name), body: patch, contentType: "application/merge-patch+json"})
}

// DeleteOptions tune DeleteApplication.
type DeleteOptions struct {
	// Cascade, when set, says whether the app's resources are deleted
	// with it; nil leaves it to the app's finalizers.
	Cascade *bool
}

// DeleteApplication deletes an app.
func (c *Client) DeleteApplication(ctx context.Context, name string, opts DeleteOptions) error {
	q := url.Values{}
	if opts.Cascade != nil {
		q.Set("cascade", strconv.FormatBool(*opts.Cascade))
	}
	return c.do(ctx, request{method: http.MethodDelete, path: appPath(name), query: q}, nil)
}

// Sync requests a sync; the answer is the app with the requested
// operation. A pending or running operation is a Conflict error.
func (c *Client) Sync(ctx context.Context, name string, req apitypes.SyncRequest) (*sollv1.Application, error) {
	return c.appCall(ctx, http.MethodPost, appPath(name, "sync"), nil, req)
}

// Rollback requests a rollback to a history entry, which pins the app.
func (c *Client) Rollback(ctx context.Context, name string, req apitypes.RollbackRequest) (*sollv1.Application, error) {
	return c.appCall(ctx, http.MethodPost, appPath(name, "rollback"), nil, req)
}

// Terminate stops the running operation, or withdraws a requested one.
func (c *Client) Terminate(ctx context.Context, name string) (*sollv1.Application, error) {
	return c.appCall(ctx, http.MethodPost, appPath(name, "terminate"), nil, nil)
}

// Refresh asks for a comparison with Git now; hard bypasses the caches.
func (c *Client) Refresh(ctx context.Context, name string, hard bool) (*sollv1.Application, error) {
	return c.appCall(ctx, http.MethodPost, appPath(name, "refresh"), url.Values{"hard": {strconv.FormatBool(hard)}}, nil)
}

// Unpin removes the pin a rollback set.
func (c *Client) Unpin(ctx context.Context, name string) (*sollv1.Application, error) {
	return c.appCall(ctx, http.MethodPost, appPath(name, "unpin"), nil, nil)
}

func (c *Client) appCall(ctx context.Context, method, path string, q url.Values, body any) (*sollv1.Application, error) {
	return call[sollv1.Application](ctx, c, request{method: method, path: path, query: q, body: body})
}

// Diff returns the app's resources that differ from Git.
func (c *Client) Diff(ctx context.Context, name string) (*apitypes.Diff, error) {
	return getAs[apitypes.Diff](ctx, c, appPath(name, "diff"))
}

// Resources returns the app's managed resources and their status.
func (c *Client) Resources(ctx context.Context, name string) ([]sollv1.ResourceStatus, error) {
	return listItems[sollv1.ResourceStatus](ctx, c, appPath(name, "resources"))
}

// History returns the app's sync history, oldest first.
func (c *Client) History(ctx context.Context, name string) ([]sollv1.RevisionHistory, error) {
	return listItems[sollv1.RevisionHistory](ctx, c, appPath(name, "history"))
}

// Events returns the Kubernetes Events of the app and its objects, newest
// first.
func (c *Client) Events(ctx context.Context, name string) ([]apitypes.Event, error) {
	return listItems[apitypes.Event](ctx, c, appPath(name, "events"))
}

// Tree returns the app's resources and their children.
func (c *Client) Tree(ctx context.Context, name string) (*apitypes.Tree, error) {
	return getAs[apitypes.Tree](ctx, c, appPath(name, "tree"))
}

// Manifests are the rendered desired manifests of an app.
type Manifests struct {
	// Items are the objects, as the server rendered them (Secret values
	// redacted).
	Items []map[string]any `json:"items"`
	// Raw is the server's whole answer.
	Raw json.RawMessage `json:"-"`
}

// Manifests returns the app's rendered manifests at revision (empty: its
// target revision). Servers that cannot render answer 501, which
// IsNotImplemented recognises.
func (c *Client) Manifests(ctx context.Context, name, revision string) (*Manifests, error) {
	q := url.Values{}
	if revision != "" {
		q.Set("revision", revision)
	}
	var raw json.RawMessage
	if err := c.get(ctx, appPath(name, "manifests"), q, &raw); err != nil {
		return nil, err
	}
	out := &Manifests{Raw: raw}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, err
	}
	return out, nil
}
