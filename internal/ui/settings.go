package ui

import (
	"net/http"
	"slices"

	"soll.dev/internal/apitypes"
	sollproject "soll.dev/internal/project"
)

// The settings pages (/settings/...) show and change what is not an
// application: repositories, accounts and their tokens, the audit log,
// the current user's rights and the projects. Like the other pages they
// read and change through the API with the user's session.

// settingsLink is one page of the settings, as the settings' navigation
// and index list it.
type settingsLink struct{ Label, Href, About string }

var settingsLinks = []settingsLink{
	{"Repositories", "/settings/repositories", "The credentials soll uses to read Git repositories, Helm chart repositories and OCI registries: add one with a connection test, remove one."},
	{"Accounts and tokens", "/settings/accounts", "Local accounts and their API tokens: create a token, revoke one; change your password."},
	{"Audit log", "/settings/audit", "Who changed what, through the API, the UI or the CLI, and what the controller did."},
	{"Current user", "/settings/user", "Who you are logged in as, your groups and what RBAC lets you do."},
	{"Projects", "/settings/projects", "The projects: the repositories, destinations and kinds their applications may use, their roles and sync windows."},
}

func init() {
	viewFuncs["settingsPages"] = func() []settingsLink { return settingsLinks }
}

// Page names of the settings; each is templates/<name>.html.
const (
	pageSettings     = "settings"
	pageRepositories = "settings-repositories"
	pageAccounts     = "settings-accounts"
	pageAudit        = "settings-audit"
	pageUser         = "settings-user"
	pageProjects     = "settings-projects"
	pageProject      = "settings-project"
)

// settingsPageNames are the settings' pages, for New to parse.
var settingsPageNames = []string{pageSettings, pageRepositories, pageAccounts, pageAudit, pageUser, pageProjects, pageProject}

// renderSettings renders a settings page titled title; crumbs come
// between Settings and the title.
func (u *UI) renderSettings(w http.ResponseWriter, s *session, status int, page, title, notice string, v any, crumbs ...crumb) {
	c := []crumb{{Label: "Settings"}}
	if page != pageSettings {
		c = append(append([]crumb{{Label: "Settings", Href: "/settings"}}, crumbs...), crumb{Label: title})
	}
	u.render(w, status, page, layout{Title: title, Crumbs: c, User: s.p.Subject, LogoutToken: s.formToken, Notice: notice, Page: v})
}

func (u *UI) settingsPage(w http.ResponseWriter, r *http.Request) {
	s := u.requireSession(w, r)
	if s == nil {
		return
	}
	u.renderSettings(w, s, http.StatusOK, pageSettings, "Settings", "", settingsLinks)
}

// getJSON reads an API resource into v; on failure it shows the error
// page and returns false.
func (u *UI) getJSON(w http.ResponseWriter, r *http.Request, s *session, target, what string, v any) bool {
	res := u.call(r, s.token, http.MethodGet, target, nil)
	if res.status != http.StatusOK {
		u.renderError(w, r, s, res.status, what+" could not be read", res.apiError().Message)
		return false
	}
	if err := res.decode(v); err != nil {
		u.renderError(w, r, s, http.StatusInternalServerError, what+" could not be read", "The API's answer could not be read: "+err.Error())
		return false
	}
	return true
}

// userView is the current user's page: who they are and their rights.
type userView struct {
	Current string
	apitypes.Session
	Rights []rightRow
}

// rightRow says which actions the user may do on the objects of a
// resource: all of them, or those of one project.
type rightRow struct {
	Resource, Scope string
	Actions         []actionRight
}

type actionRight struct {
	Action  string
	Allowed bool
}

// rightsActions are the actions the API asks RBAC about, by resource.
var rightsActions = []struct {
	resource string
	actions  []string
}{
	{"applications", []string{"get", "create", "update", "delete", "sync", "rollback", "override"}},
	{"projects", []string{"get", "create", "update", "delete"}},
	{"repositories", []string{"get", "create", "update", "delete"}},
	{"clusters", []string{"get"}},
	{"accounts", []string{"get", "create", "update", "delete"}},
}

func (u *UI) userPage(w http.ResponseWriter, r *http.Request) {
	s := u.requireSession(w, r)
	if s == nil {
		return
	}
	v := &userView{Current: "/settings/user"}
	if !u.getJSON(w, r, s, "/api/v1/session", "Your session", &v.Session) {
		return
	}
	var projects apitypes.ProjectList
	if !u.getJSON(w, r, s, "/api/v1/projects", "The projects", &projects) {
		return
	}
	names := []string{sollproject.DefaultName}
	for _, p := range projects.Items {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	for _, ra := range rightsActions {
		scopes := []string{"*"}
		if ra.resource == "applications" {
			// Applications are named project/name in RBAC: the rights
			// on every application of each project.
			scopes = slices.Compact(names)
		}
		for _, scope := range scopes {
			row := rightRow{Resource: ra.resource, Scope: "all"}
			object := scope
			if ra.resource == "applications" {
				row.Scope, object = "project "+scope, scope+"/*"
			}
			for _, a := range ra.actions {
				row.Actions = append(row.Actions, actionRight{a, u.opts.RBAC.Allowed(s.p, ra.resource, a, object)})
			}
			v.Rights = append(v.Rights, row)
		}
	}
	u.renderSettings(w, s, http.StatusOK, pageUser, "Current user", "", v)
}
