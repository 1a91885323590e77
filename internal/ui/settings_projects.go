package ui

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	// The kinds, one group/Kind a line, and their error.
	ClusterAllow, ClusterDeny, NamespacedAllow, NamespacedDeny, KindsError string
	// Windows are the sync windows, one a line (see windowLine), and
	// their error.
	Windows, WindowsError string
	// Roles are the project's roles and one empty row for a new one.
	Roles []roleRow
	// Error is an error of no field of the form.
	Error string
}

// roleRow is a role of the form: its name (fixed for an existing role,
// whose tokens stay with it), description, policies and groups one a
// line, and whether to remove it.
type roleRow struct {
	Index                               int
	Name, Description, Policies, Groups string
	Existing, Remove                    bool
	Tokens                              int
	Error                               string
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
	sp := &v.P.Spec
	f.ClusterAllow, f.ClusterDeny = kindLines(sp.ClusterResourceAllowList), kindLines(sp.ClusterResourceDenyList)
	f.NamespacedAllow, f.NamespacedDeny = kindLines(sp.NamespaceResourceAllowList), kindLines(sp.NamespaceResourceDenyList)
	var windows []string
	for _, w := range sp.SyncWindows {
		windows = append(windows, windowLine(w))
	}
	f.Windows = strings.Join(windows, "\n")
	for _, role := range sp.Roles {
		f.Roles = append(f.Roles, roleRow{Name: role.Name, Description: role.Description, Policies: strings.Join(role.Policies, "\n"),
			Groups: strings.Join(role.Groups, "\n"), Existing: true, Tokens: roleTokens(v.P, role.Name)})
	}
	f.Roles = withNewRole(f.Roles)
	if !u.opts.RBAC.Allowed(s.p, "projects", "update", v.P.Name) {
		f.Denied = "You (" + s.p.Subject + ") may not change project " + v.P.Name + "."
	}
	return v
}

// withNewRole numbers the roles and adds an empty one to fill in.
func withNewRole(rows []roleRow) []roleRow {
	rows = append(rows, roleRow{})
	for i := range rows {
		rows[i].Index = i
	}
	return rows
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

// roleIndex finds the role in an API error's field: spec.roles[1].name
// is 1 (the roles are sent in the form's order, removed ones left out).
var roleIndex = regexp.MustCompile(`^spec\.roles\[(\d+)\]`)

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
	if repos == nil {
		repos = []string{}
	}
	spec := map[string]any{"sourceRepos": repos, "destinations": dests}
	// The kinds, windows and roles are changed when the form has them.
	if form.Has("clusterAllow") {
		lists := map[string]*string{"clusterResourceAllowList": &f.ClusterAllow, "clusterResourceDenyList": &f.ClusterDeny,
			"namespaceResourceAllowList": &f.NamespacedAllow, "namespaceResourceDenyList": &f.NamespacedDeny}
		for key, field := range map[string]string{"clusterResourceAllowList": "clusterAllow", "clusterResourceDenyList": "clusterDeny",
			"namespaceResourceAllowList": "namespacedAllow", "namespaceResourceDenyList": "namespacedDeny"} {
			*lists[key] = strings.TrimSpace(form.Get(field))
			gks, err := parseKinds(*lists[key])
			if err != nil {
				f.KindsError, ok = err.Error(), false
			}
			spec[key] = gks
		}
	}
	if form.Has("syncWindows") {
		f.Windows = strings.TrimSpace(form.Get("syncWindows"))
		windows := []sollv1.SyncWindow{}
		for i, line := range lines(f.Windows) {
			sw, err := parseWindow(line)
			if err != nil {
				f.WindowsError, ok = fmt.Sprintf("Line %d: %v", i+1, err), false
				break
			}
			windows = append(windows, sw)
		}
		spec["syncWindows"] = windows
	}
	if form.Has("roleName") {
		roles, good := rolesOf(form, v.P, f)
		ok = ok && good
		spec["roles"] = roles
	}
	if !ok {
		u.renderProject(w, s, http.StatusBadRequest, v, "")
		return
	}
	body, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": form.Get("resourceVersion")},
		"spec":     spec,
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
	case strings.HasPrefix(e.Field, "spec.clusterResource") || strings.HasPrefix(e.Field, "spec.namespaceResource"):
		f.KindsError = e.Message
	case strings.HasPrefix(e.Field, "spec.syncWindows"):
		f.WindowsError = e.Message
	case roleIndex.MatchString(e.Field):
		i, _ := strconv.Atoi(roleIndex.FindStringSubmatch(e.Field)[1])
		if i < len(f.Roles) {
			f.Roles[i].Error = e.Message
		} else {
			f.Error = e.Message
		}
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

// rolesOf reads the form's roles: the existing ones (named by the form,
// their tokens kept from the project as read) unless removed, and the new
// one when it has a name. It sets the rows of f for the page and says
// whether they are all well formed.
func rolesOf(form url.Values, p *sollv1.Project, f *projectForm) ([]sollv1.ProjectRole, bool) {
	current := p.Spec.Roles
	names, descs, policies, groups := form["roleName"], form["roleDescription"], form["rolePolicies"], form["roleGroups"]
	// The tokens a role's spec lists stay as they are; those soll issues
	// are in the project's status, which the form does not touch.
	tokens := map[string][]sollv1.JWTToken{}
	for _, r := range current {
		tokens[r.Name] = r.JWTTokens
	}
	f.Roles = nil
	roles := []sollv1.ProjectRole{}
	ok := true
	for i := range names {
		row := roleRow{Name: strings.TrimSpace(names[i]), Description: strings.TrimSpace(at(descs, i)),
			Policies: strings.TrimSpace(at(policies, i)), Groups: strings.TrimSpace(at(groups, i)), Remove: slices.Contains(form["roleRemove"], names[i])}
		_, row.Existing = tokens[row.Name]
		row.Tokens = roleTokens(p, row.Name)
		if !row.Existing && row.Name == "" {
			if row.Description != "" || row.Policies != "" || row.Groups != "" {
				row.Error, ok = "Give the new role a name.", false
			} else {
				continue
			}
		}
		f.Roles = append(f.Roles, row)
		if row.Remove {
			continue
		}
		roles = append(roles, sollv1.ProjectRole{Name: row.Name, Description: row.Description, Policies: lines(row.Policies),
			Groups: lines(row.Groups), JWTTokens: tokens[row.Name]})
	}
	f.Roles = withNewRole(f.Roles)
	return roles, ok
}

// roleTokens counts the API tokens soll issued for a role of p (in its
// status).
func roleTokens(p *sollv1.Project, role string) int {
	n := 0
	for _, rt := range p.Status.JWTTokensByRole {
		if rt.Role == role {
			n += len(rt.Tokens)
		}
	}
	return n
}

func at(vs []string, i int) string {
	if i < len(vs) {
		return vs[i]
	}
	return ""
}

// kindLines writes kinds one a line, as parseKinds reads them.
func kindLines(gks []sollv1.GroupKind) string {
	return strings.ReplaceAll(groupKinds(gks), ", ", "\n")
}

// parseKinds reads kinds one a line: Kind for the core group, group/Kind
// otherwise (globs as the Project allows them).
func parseKinds(text string) ([]sollv1.GroupKind, error) {
	out := []sollv1.GroupKind{}
	for _, line := range lines(text) {
		group, kind, found := strings.Cut(line, "/")
		if !found {
			group, kind = "", line
		}
		if kind == "" || strings.ContainsAny(kind, "/ ") || strings.ContainsAny(group, " ") {
			return nil, fmt.Errorf("%q is not a kind: write Kind for the core group (ConfigMap) or group/Kind (apps/Deployment)", line)
		}
		out = append(out, sollv1.GroupKind{Group: group, Kind: kind})
	}
	return out, nil
}

// windowLine writes a sync window on one line as parseWindow reads it:
// kind, the five fields of the schedule, the duration, then options.
func windowLine(w sollv1.SyncWindow) string {
	parts := []string{string(w.Kind), w.Schedule, w.Duration.Duration.String()}
	for key, vs := range map[string][]string{"applications": w.Applications, "namespaces": w.Namespaces, "clusters": w.Clusters} {
		if len(vs) > 0 {
			parts = append(parts, key+"="+strings.Join(vs, ","))
		}
	}
	if w.TimeZone != "" {
		parts = append(parts, "timeZone="+w.TimeZone)
	}
	if w.ManualSync {
		parts = append(parts, "manualSync")
	}
	// Options in a fixed order, so that a page shows what it read.
	slices.Sort(parts[3:])
	return strings.Join(parts, " ")
}

// parseWindow reads a line of windowLine's form:
//
//	deny 0 22 * * * 1h applications=web-* namespaces=prod clusters=in-cluster timeZone=Europe/Paris manualSync
func parseWindow(line string) (sollv1.SyncWindow, error) {
	fields := strings.Fields(line)
	var w sollv1.SyncWindow
	if len(fields) < 7 {
		return w, errors.New("write the kind (allow or deny), the schedule's five fields, the duration, then the options: deny 0 22 * * * 1h applications=web-*")
	}
	w.Kind = sollv1.SyncWindowKind(fields[0])
	if w.Kind != sollv1.SyncWindowAllow && w.Kind != sollv1.SyncWindowDeny {
		return w, fmt.Errorf("the kind is %q; it is allow or deny", fields[0])
	}
	w.Schedule = strings.Join(fields[1:6], " ")
	d, err := time.ParseDuration(fields[6])
	if err != nil || d <= 0 {
		return w, fmt.Errorf("the duration is %q; write one such as 1h or 30m", fields[6])
	}
	w.Duration = metav1.Duration{Duration: d}
	for _, opt := range fields[7:] {
		key, value, _ := strings.Cut(opt, "=")
		switch key {
		case "applications":
			w.Applications = strings.Split(value, ",")
		case "namespaces":
			w.Namespaces = strings.Split(value, ",")
		case "clusters":
			w.Clusters = strings.Split(value, ",")
		case "timeZone":
			w.TimeZone = value
		case "manualSync":
			w.ManualSync = true
		default:
			return w, fmt.Errorf("%q is not an option: applications=, namespaces=, clusters=, timeZone= or manualSync", opt)
		}
	}
	return w, nil
}

const noticeProjectSaved = "project-saved"

func init() {
	notices[noticeProjectSaved] = "Project saved: soll holds its applications to the new rules from now on."
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
	viewFuncs["roleTokens"] = roleTokens
}
