package ui

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	sollproject "soll.dev/internal/project"
)

// projectsView lists the projects.
type projectsView struct {
	Current string
	Items   []*sollv1.Project
	// Implicit says that the default project has no object yet: it
	// allows everything until one is made.
	Implicit bool
}

func (u *UI) projectsPage(w http.ResponseWriter, r *http.Request) {
	s := u.requireSession(w, r)
	if s == nil {
		return
	}
	var list apitypes.ProjectList
	if !u.getJSON(w, r, s, "/api/v1/projects", "The projects", &list) {
		return
	}
	v := &projectsView{Current: "/settings/projects", Items: list.Items}
	v.Implicit = !slices.ContainsFunc(list.Items, func(p *sollv1.Project) bool { return p.Name == sollproject.DefaultName })
	slices.SortFunc(v.Items, func(a, b *sollv1.Project) int { return cmp.Compare(a.Name, b.Name) })
	u.renderSettings(w, s, http.StatusOK, pageProjects, "Projects", "", v)
}

// projectView is one project's page, with the form that edits its
// source repositories and destinations.
type projectView struct {
	Current string
	P       *sollv1.Project
	// Implicit says that it is the default project without an object:
	// there is nothing to edit until one is made.
	Implicit bool
	Edit     projectForm
}

// projectForm edits a project's source repositories (one a line) and
// destinations (a row of inputs each, with empty rows to add more).
type projectForm struct {
	Action, FormToken, ResourceVersion string
	Denied                             string
	SourceRepos, SourcesError          string
	Dests                              []destRow
	// Error is an error of no field of the form.
	Error string
}

type destRow struct {
	Index                          int
	Server, Name, Namespace, Error string
}

// emptyDestRows is how many empty destination rows the form offers.
const emptyDestRows = 3

// readProjectView reads the project of the path for its page; on
// failure it shows the error page and returns nil.
func (u *UI) readProjectView(w http.ResponseWriter, r *http.Request, s *session) *projectView {
	name := r.PathValue("name")
	v := &projectView{Current: "/settings/projects"}
	res := u.call(r, s.token, http.MethodGet, "/api/v1/projects/"+url.PathEscape(name), nil)
	switch {
	case res.status == http.StatusNotFound && name == sollproject.DefaultName:
		v.P, v.Implicit = sollproject.Default(), true
	case res.status != http.StatusOK:
		title := "The project could not be read"
		if res.status == http.StatusNotFound {
			title = "Project not found"
		}
		u.fail(w, r, s, res.status, title, res.apiError().Message)
		return nil
	default:
		v.P = &sollv1.Project{}
		if err := res.decode(v.P); err != nil {
			u.fail(w, r, s, http.StatusInternalServerError, "The project could not be read", "The API's answer could not be read: "+err.Error())
			return nil
		}
	}
	f := &v.Edit
	f.Action, f.FormToken, f.ResourceVersion = projectHref(v.P.Name)+"/edit", s.formToken, v.P.ResourceVersion
	f.SourceRepos = strings.Join(v.P.Spec.SourceRepos, "\n")
	for _, d := range v.P.Spec.Destinations {
		f.Dests = append(f.Dests, destRow{Server: d.Server, Name: d.Name, Namespace: d.Namespace})
	}
	f.Dests = withEmptyRows(f.Dests)
	if !u.opts.RBAC.Allowed(s.p, "projects", "update", v.P.Name) {
		f.Denied = "You (" + s.p.Subject + ") may not change project " + v.P.Name + "."
	}
	return v
}

// withEmptyRows numbers the rows and adds the empty ones.
func withEmptyRows(rows []destRow) []destRow {
	rows = append(rows, make([]destRow, emptyDestRows)...)
	for i := range rows {
		rows[i].Index = i
	}
	return rows
}

func (u *UI) projectPage(w http.ResponseWriter, r *http.Request) {
	s := u.requireSession(w, r)
	if s == nil {
		return
	}
	if v := u.readProjectView(w, r, s); v != nil {
		u.renderProject(w, s, http.StatusOK, v, notices[r.URL.Query().Get("notice")])
	}
}

func (u *UI) renderProject(w http.ResponseWriter, s *session, status int, v *projectView, notice string) {
	u.renderSettings(w, s, status, pageProject, "Project "+v.P.Name, notice, v, crumb{Label: "Projects", Href: "/settings/projects"})
}

// destinationIndex finds the row in an API error's field:
// spec.destinations[2].namespace is 2.
var destinationIndex = regexp.MustCompile(`^spec\.destinations\[(\d+)\]`)

// editProject replaces the project's source repositories and
// destinations with the form's, by a JSON merge patch that carries the
// resourceVersion the form was made from: a project changed since is
// refused (409), not overwritten.
func (u *UI) editProject(w http.ResponseWriter, r *http.Request) {
	s := u.checkForm(w, r)
	if s == nil {
		return
	}
	v := u.readProjectView(w, r, s)
	if v == nil {
		return
	}
	f := &v.Edit
	if v.Implicit {
		u.fail(w, r, s, http.StatusConflict, "The project was not changed", "The default project has no object yet: create it (soll proj create default), then edit it here.")
		return
	}
	form := r.PostForm
	f.SourceRepos = strings.TrimRight(form.Get("sourceRepos"), " \t\r\n")
	repos := lines(f.SourceRepos)
	servers, names, namespaces := form["destServer"], form["destName"], form["destNamespace"]
	if len(servers) != len(names) || len(names) != len(namespaces) {
		u.fail(w, r, s, http.StatusBadRequest, "Bad request", "The form's destination rows are incomplete; reload the page and try again.")
		return
	}
	f.Dests = nil
	dests := []sollv1.ProjectDestination{}
	ok := true
	for i := range servers {
		d := destRow{Server: strings.TrimSpace(servers[i]), Name: strings.TrimSpace(names[i]), Namespace: strings.TrimSpace(namespaces[i])}
		switch {
		case d.Server == "" && d.Name == "" && d.Namespace == "":
			continue
		case d.Server == "" && d.Name == "":
			d.Error = "Give the cluster's server or name (* for any cluster)."
		case d.Namespace == "":
			d.Error = "Give the namespace (* for all, !name to deny one)."
		}
		ok = ok && d.Error == ""
		f.Dests = append(f.Dests, d)
		dests = append(dests, sollv1.ProjectDestination{Server: d.Server, Name: d.Name, Namespace: d.Namespace})
	}
	f.Dests = withEmptyRows(f.Dests)
	if !ok {
		u.renderProject(w, s, http.StatusBadRequest, v, "")
		return
	}
	if repos == nil {
		repos = []string{}
	}
	body, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": form.Get("resourceVersion")},
		"spec":     map[string]any{"sourceRepos": repos, "destinations": dests},
	})
	res := u.call(r, s.token, http.MethodPatch, "/api/v1/projects/"+url.PathEscape(v.P.Name), body)
	if res.status == http.StatusOK {
		http.Redirect(w, r, projectHref(v.P.Name)+"?notice="+noticeProjectSaved, http.StatusSeeOther)
		return
	}
	e := res.apiError()
	m := destinationIndex.FindStringSubmatch(e.Field)
	switch {
	case res.status == http.StatusConflict:
		f.Error = "The project was changed since this page was loaded; nothing was saved. Reload the page, then make your change again."
	case strings.HasPrefix(e.Field, "spec.sourceRepos"):
		f.SourcesError = e.Message
	case m != nil:
		i, _ := strconv.Atoi(m[1])
		if i < len(f.Dests) {
			f.Dests[i].Error = e.Message
		} else {
			f.Error = e.Message
		}
	default:
		f.Error = e.Message
	}
	u.renderProject(w, s, res.status, v, "")
}

const noticeProjectSaved = "project-saved"

func init() {
	notices[noticeProjectSaved] = "Project saved: soll holds its applications to the new source repositories and destinations from now on."
}

func projectHref(name string) string { return "/settings/projects/" + url.PathEscape(name) }

// groupKinds writes a list of kinds as group/Kind, "" for the core
// group's.
func groupKinds(gks []sollv1.GroupKind) string {
	out := make([]string, len(gks))
	for i, gk := range gks {
		out[i] = gk.Kind
		if gk.Group != "" {
			out[i] = gk.Group + "/" + gk.Kind
		}
	}
	return strings.Join(out, ", ")
}

func init() {
	viewFuncs["groupKinds"] = groupKinds
	viewFuncs["projectHref"] = projectHref
}
