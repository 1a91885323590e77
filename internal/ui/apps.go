package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// Statuses offered by the filters and counted at the top of the list.
var (
	syncStatuses   = []string{string(sollv1.SyncStatusSynced), string(sollv1.SyncStatusOutOfSync), string(sollv1.SyncStatusUnknown)}
	healthStatuses = []string{string(sollv1.HealthHealthy), string(sollv1.HealthProgressing), string(sollv1.HealthDegraded),
		string(sollv1.HealthSuspended), string(sollv1.HealthMissing), string(sollv1.HealthUnknown)}
	sortOrders = []option{{"name", "Name (A to Z)"}, {"-name", "Name (Z to A)"}, {"health", "Health (worst first)"},
		{"-syncedAt", "Last sync (newest first)"}, {"syncedAt", "Last sync (oldest first)"}}
)

type option struct{ Value, Label string }

// listParams are the query parameters of the applications page that go
// to the API as they are; view (table or tiles) stays with the page.
var listParams = []string{"project", "syncStatus", "health", "namespace", "cluster", "selector", "search", "sort", "limit", "continue"}

// filterParams are the list parameters that narrow what is counted.
var filterParams = []string{"project", "syncStatus", "health", "namespace", "cluster", "selector", "search"}

type appsView struct {
	Query url.Values
	// Filter values, for the form.
	Project, Sync, Health, Namespace, Cluster, Selector, Search, Sort string
	Tiles                                                             bool
	SyncOptions, HealthOptions                                        []string
	SortOptions                                                       []option
	Apps                                                              []appRow
	Total                                                             int
	// SyncCounts and HealthCounts count the apps of the filtered view by
	// status (the other filters applied); each links to that status.
	SyncCounts, HealthCounts []statusCount
	// CountsSource is the API list of one app with the page's filters,
	// whose counts the script reads again when statuses change.
	CountsSource string
	// Next is the link to the next page, Previous to the one before and
	// First to the first when this is not it; TableHref and TilesHref
	// switch the view.
	Next, Previous, First, TableHref, TilesHref string
	// BulkAction is the target of the form that syncs or refreshes the
	// selected apps, Return the page to come back to after it.
	BulkAction, Return, FormToken string
	// Filtered says whether any filter is set, for the empty state.
	Filtered bool
	// Error is the API's message when the list failed (a bad selector).
	Error string
}

type statusCount struct {
	Status string
	Count  int
	Href   string
	Active bool
}

// appRow is what the list shows of an app; the page's script computes
// the same from the event stream (static/soll.js, rowFields).
type appRow struct {
	Name, Href, Project, Namespace string
	Sync, Health, Phase            string
	Target, Resolved, LastSync     string
}

func (u *UI) appsPage(w http.ResponseWriter, r *http.Request) {
	s := u.requireSession(w, r)
	if s == nil {
		return
	}
	q := r.URL.Query()
	notice := notices[q.Get("notice")]
	q.Del("notice")
	api := url.Values{}
	for _, k := range listParams {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			api.Set(k, v)
		}
	}
	v := appsView{
		Query: q, Project: api.Get("project"), Sync: api.Get("syncStatus"), Health: api.Get("health"),
		Namespace: api.Get("namespace"), Cluster: api.Get("cluster"), Selector: api.Get("selector"), Search: api.Get("search"), Sort: api.Get("sort"),
		Tiles: q.Get("view") == "tiles", SyncOptions: syncStatuses, HealthOptions: healthStatuses, SortOptions: sortOrders,
		BulkAction: "/applications/bulk", Return: r.URL.RequestURI(), FormToken: s.formToken,
	}
	counted := url.Values{"limit": {"1"}}
	for _, k := range filterParams {
		v.Filtered = v.Filtered || api.Get(k) != ""
		if api.Get(k) != "" {
			counted.Set(k, api.Get(k))
		}
	}
	v.CountsSource = "/api/v1/applications?" + counted.Encode()
	l := layout{Title: "Applications", Crumbs: []crumb{{Label: "Applications"}}, User: s.p.Subject, LogoutToken: s.formToken,
		Notice: notice, Page: &v}
	res := u.call(r, s.token, http.MethodGet, "/api/v1/applications?"+api.Encode(), nil)
	if res.status != http.StatusOK {
		if res.status == http.StatusBadRequest {
			v.Error = res.apiError().Message
			l.Stream = ""
			u.render(w, http.StatusBadRequest, pageApps, l)
			return
		}
		u.renderError(w, r, s, res.status, "The applications could not be listed", res.apiError().Message)
		return
	}
	var list apitypes.AppList
	if err := res.decode(&list); err != nil {
		u.renderError(w, r, s, http.StatusInternalServerError, "The applications could not be listed", "The API's answer could not be read: "+err.Error())
		return
	}
	v.Total = list.Total
	names := make([]string, 0, len(list.Items))
	for _, a := range list.Items {
		v.Apps = append(v.Apps, rowOf(a))
		names = append(names, a.Name)
	}
	// The page follows the apps it shows, not all of them.
	if len(names) > 0 {
		l.Stream = "/api/v1/stream/applications?" + url.Values{"names": {strings.Join(names, ",")}}.Encode()
	}
	link := func(change func(url.Values)) string {
		c := url.Values{}
		for k, vs := range q {
			c[k] = slices.Clone(vs)
		}
		change(c)
		if len(c) == 0 {
			return "/applications"
		}
		return "/applications?" + c.Encode()
	}
	if list.Continue != "" {
		v.Next = link(func(c url.Values) { c.Set("continue", list.Continue) })
	}
	if list.Previous != "" {
		v.Previous = link(func(c url.Values) { c.Set("continue", list.Previous) })
	}
	if api.Get("continue") != "" {
		v.First = link(func(c url.Values) { c.Del("continue") })
	}
	v.TableHref = link(func(c url.Values) { c.Del("view") })
	v.TilesHref = link(func(c url.Values) { c.Set("view", "tiles") })
	// The counts come with the list: by sync status with the other
	// filters applied, by health likewise. Each links to its status (or,
	// when chosen, back to any).
	count := func(param, status string, n int) statusCount {
		active := api.Get(param) == status
		href := link(func(c url.Values) {
			c.Del("continue")
			if active {
				c.Del(param)
			} else {
				c.Set(param, status)
			}
		})
		return statusCount{Status: status, Count: n, Href: href, Active: active}
	}
	for _, st := range syncStatuses {
		v.SyncCounts = append(v.SyncCounts, count("syncStatus", st, list.Counts.Sync[st]))
	}
	for _, st := range healthStatuses {
		v.HealthCounts = append(v.HealthCounts, count("health", st, list.Counts.Health[st]))
	}
	u.render(w, http.StatusOK, pageApps, l)
}

func rowOf(a *sollv1.Application) appRow {
	return appRow{
		Name: a.Name, Href: appHref(a.Name), Project: project(a), Namespace: a.Spec.Destination.Namespace,
		Sync: syncStatus(a), Health: healthStatus(a), Phase: phase(a),
		Target: strings.Join(targets(a), ", "), Resolved: strings.Join(shortRevisions(resolved(a)), ", "), LastSync: lastSync(a),
	}
}

func appHref(name string) string { return "/applications/" + url.PathEscape(name) }

// appView is what the page of an app shows; SyncAction and RefreshAction
// are its forms' targets, SyncDenied why Sync is disabled.
type appView struct {
	App           *sollv1.Application
	Row           appRow
	Sources       []sollv1.ApplicationSource
	Commits       []sollv1.RevisionMetadata
	HealthMsg     string
	Op            *sollv1.OperationState
	OpDuration    string
	OpInitiator   string
	History       []historyRow
	Resources     []sollv1.ResourceStatus
	FormToken     string
	SyncAllowed   bool
	SyncDenied    string
	SyncAction    string
	RefreshAction string
	Labels        []keyValue
	Annotations   []keyValue
	Destination   string
	// Pinned says whether a rollback pinned the app; PinText describes
	// the pin, as the page's script does (static/soll.js, pinText).
	Pinned  bool
	PinText string
	// Tree is the resource tree section (tree.go).
	Tree *treeView
	actions
}

// historyRow is one deployment of the history, newest first.
type historyRow struct {
	ID                          int64
	Revisions, Commit, Deployed string
	By                          string
}

// commitText is what the history shows of an entry's commits: the first
// line of each message and its author (as commitText in static/soll.js).
func commitText(commits []sollv1.RevisionMetadata) string {
	var out []string
	for _, c := range commits {
		if c.Message == "" {
			continue
		}
		line, _, _ := strings.Cut(c.Message, "\n")
		if c.Author != "" {
			line += " (" + c.Author + ")"
		}
		out = append(out, line)
	}
	return strings.Join(out, "; ")
}

type keyValue struct{ Key, Value string }

func (u *UI) appPage(w http.ResponseWriter, r *http.Request) {
	s, a := u.sessionApp(w, r)
	if a == nil {
		return
	}
	u.renderApp(w, r, s, http.StatusOK, u.appViewOf(s, a), notices[r.URL.Query().Get("notice")])
}

// sessionApp is the session of a page's request and the app of its path;
// without a session it leads to the login, and when the app cannot be
// read it shows why; both nil then.
func (u *UI) sessionApp(w http.ResponseWriter, r *http.Request) (*session, *sollv1.Application) {
	s := u.requireSession(w, r)
	if s == nil {
		return nil, nil
	}
	a := u.readApp(w, r, s)
	if a == nil {
		return nil, nil
	}
	return s, a
}

// readApp reads the app of the request's path through the API; on
// failure it shows the error page and returns nil.
func (u *UI) readApp(w http.ResponseWriter, r *http.Request, s *session) *sollv1.Application {
	name := r.PathValue("name")
	res := u.call(r, s.token, http.MethodGet, "/api/v1/applications/"+url.PathEscape(name), nil)
	if res.status != http.StatusOK {
		title := "The application could not be read"
		if res.status == http.StatusNotFound {
			title = "Application not found"
		}
		u.fail(w, r, s, res.status, title, res.apiError().Message)
		return nil
	}
	var a sollv1.Application
	if err := res.decode(&a); err != nil {
		u.fail(w, r, s, http.StatusInternalServerError, "The application could not be read", "The API's answer could not be read: "+err.Error())
		return nil
	}
	return &a
}

// appViewOf is what the page shows of a, with the actions s may use.
func (u *UI) appViewOf(s *session, a *sollv1.Application) *appView {
	v := &appView{App: a, Row: rowOf(a), Sources: sources(a), Commits: a.Status.SourceRevisions, Op: a.Status.OperationState,
		Resources: a.Status.Resources, FormToken: s.formToken, Labels: sortedPairs(a.Labels), Annotations: sortedPairs(a.Annotations),
		Destination: destination(a), SyncAction: appHref(a.Name) + "/sync", RefreshAction: appHref(a.Name) + "/refresh"}
	if a.Status.Health != nil {
		v.HealthMsg = a.Status.Health.Message
	}
	if op := a.Status.OperationState; op != nil {
		v.OpDuration = duration(op)
		v.OpInitiator = initiator(op.Operation.InitiatedBy)
	}
	v.Pinned, v.PinText = a.Spec.Pin != nil, pinText(a.Spec.Pin)
	for i := len(a.Status.History) - 1; i >= 0; i-- {
		h := a.Status.History[i]
		v.History = append(v.History, historyRow{ID: h.ID, Revisions: strings.Join(shortRevisions(h.Revisions), ", "), Commit: commitText(h.Commits),
			Deployed: formatTime(&h.DeployedAt), By: initiator(h.InitiatedBy)})
	}
	v.SyncAllowed, v.SyncDenied = u.may(s, a, "sync")
	v.actions = u.actionsOf(s, a)
	return v
}

// may says whether s may do action to the app, as the API decides it, and
// if not, why.
func (u *UI) may(s *session, a *sollv1.Application, action string) (bool, string) {
	if u.opts.RBAC.Allowed(s.p, "applications", action, project(a)+"/"+a.Name) {
		return true, ""
	}
	verb := action
	if action == "rollback" {
		verb = "roll back"
	}
	return false, "You (" + s.p.Subject + ") may not " + verb + " applications of project " + project(a) + "."
}

func (u *UI) renderApp(w http.ResponseWriter, r *http.Request, s *session, status int, v *appView, notice string) {
	v.Tree = u.readTree(r, s, v.App, treeQueryOf(r.URL.Query()))
	l := layout{Title: v.App.Name, Crumbs: []crumb{{Label: "Applications", Href: "/applications"}, {Label: v.App.Name}},
		User: s.p.Subject, LogoutToken: s.formToken, Stream: "/api/v1/stream/applications/" + url.PathEscape(v.App.Name),
		Notice: notice, Page: v}
	u.render(w, status, pageApp, l)
}

// syncApp requests a sync of the app through the API, which decides
// whether the user may.
func (u *UI) syncApp(w http.ResponseWriter, r *http.Request) {
	s := u.checkForm(w, r)
	if s == nil {
		return
	}
	body, notice, err := syncBody(r.PostForm)
	if err != nil {
		u.fail(w, r, s, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	u.action(w, r, s, "/sync", body, notice)
}

// refreshApp requests a refresh; the form's hard=true bypasses the
// caches.
func (u *UI) refreshApp(w http.ResponseWriter, r *http.Request) {
	s := u.checkForm(w, r)
	if s == nil {
		return
	}
	suffix := "/refresh"
	if r.PostForm.Get("hard") == "true" {
		suffix += "?hard=true"
	}
	u.action(w, r, s, suffix, nil, noticeRefresh)
}

// action posts to the API's action suffix of the app and answers the
// form: JSON for the page's script, a redirect back to the app otherwise.
func (u *UI) action(w http.ResponseWriter, r *http.Request, s *session, suffix string, body []byte, notice string) {
	name := r.PathValue("name")
	res := u.call(r, s.token, http.MethodPost, "/api/v1/applications/"+url.PathEscape(name)+suffix, body)
	if res.status != http.StatusAccepted && res.status != http.StatusOK {
		u.fail(w, r, s, res.status, "The request was refused", res.apiError().Message)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"message": notices[notice]})
		return
	}
	http.Redirect(w, r, appHref(name)+"?notice="+notice, http.StatusSeeOther)
}
