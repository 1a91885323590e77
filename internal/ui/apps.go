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
var listParams = []string{"project", "syncStatus", "health", "namespace", "selector", "search", "sort", "limit", "continue"}

type appsView struct {
	Query url.Values
	// Filter values, for the form.
	Project, Sync, Health, Namespace, Selector, Search, Sort string
	Tiles                                                    bool
	SyncOptions, HealthOptions                               []string
	SortOptions                                              []option
	Apps                                                     []appRow
	Total                                                    int
	// SyncCounts and HealthCounts count the apps of the filtered view by
	// status (the other filters applied); each links to that status.
	SyncCounts, HealthCounts []statusCount
	// Next is the link to the next page, First to the first when this is
	// not it; TableHref and TilesHref switch the view.
	Next, First, TableHref, TilesHref string
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
		Namespace: api.Get("namespace"), Selector: api.Get("selector"), Search: api.Get("search"), Sort: api.Get("sort"),
		Tiles: q.Get("view") == "tiles", SyncOptions: syncStatuses, HealthOptions: healthStatuses, SortOptions: sortOrders,
	}
	for _, k := range []string{"project", "syncStatus", "health", "namespace", "selector", "search"} {
		v.Filtered = v.Filtered || api.Get(k) != ""
	}
	l := layout{Title: "Applications", Crumbs: []crumb{{Label: "Applications"}}, User: s.p.Subject, LogoutToken: s.formToken,
		Stream: "/api/v1/stream/applications", Notice: notice, Page: &v}
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
	for _, a := range list.Items {
		v.Apps = append(v.Apps, rowOf(a))
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
	if api.Get("continue") != "" {
		v.First = link(func(c url.Values) { c.Del("continue") })
	}
	v.TableHref = link(func(c url.Values) { c.Del("view") })
	v.TilesHref = link(func(c url.Values) { c.Set("view", "tiles") })
	// The counts: the same query without the page, the status filter
	// counted and the other filters kept; one row each (limit=1).
	count := func(param, status string) (statusCount, error) {
		cq := url.Values{}
		for k, vs := range api {
			cq[k] = vs
		}
		cq.Del("continue")
		cq.Del("sort")
		cq.Set("limit", "1")
		cq.Set(param, status)
		res := u.call(r, s.token, http.MethodGet, "/api/v1/applications?"+cq.Encode(), nil)
		var n apitypes.AppList
		if res.status != http.StatusOK {
			return statusCount{}, errAPI(res)
		}
		if err := res.decode(&n); err != nil {
			return statusCount{}, err
		}
		active := api.Get(param) == status
		href := link(func(c url.Values) {
			c.Del("continue")
			if active {
				c.Del(param)
			} else {
				c.Set(param, status)
			}
		})
		return statusCount{Status: status, Count: n.Total, Href: href, Active: active}, nil
	}
	for _, st := range syncStatuses {
		c, err := count("syncStatus", st)
		if err != nil {
			u.renderError(w, r, s, http.StatusInternalServerError, "The applications could not be counted", err.Error())
			return
		}
		v.SyncCounts = append(v.SyncCounts, c)
	}
	for _, st := range healthStatuses {
		c, err := count("health", st)
		if err != nil {
			u.renderError(w, r, s, http.StatusInternalServerError, "The applications could not be counted", err.Error())
			return
		}
		v.HealthCounts = append(v.HealthCounts, c)
	}
	u.render(w, http.StatusOK, pageApps, l)
}

// apiErr is an API error answer as a Go error.
type apiErr struct{ e apitypes.Error }

func (a apiErr) Error() string { return a.e.Message }

func errAPI(res *apiResponse) error { return apiErr{res.apiError()} }

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
	ID                  int64
	Revisions, Deployed string
	By                  string
}

type keyValue struct{ Key, Value string }

func (u *UI) appPage(w http.ResponseWriter, r *http.Request) {
	s := u.requireSession(w, r)
	if s == nil {
		return
	}
	a := u.readApp(w, r, s)
	if a == nil {
		return
	}
	u.renderApp(w, r, s, http.StatusOK, u.appViewOf(s, a), notices[r.URL.Query().Get("notice")])
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
		v.History = append(v.History, historyRow{ID: h.ID, Revisions: strings.Join(shortRevisions(h.Revisions), ", "),
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
	if s := u.checkForm(w, r); s != nil {
		u.action(w, r, s, "/sync", []byte("{}"), noticeSync)
	}
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
