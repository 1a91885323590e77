package server

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// appQuery is a parsed GET /api/v1/applications query.
type appQuery struct {
	projects, syncStatuses, healths, namespaces, clusters []string
	selector                                              labels.Selector
	search                                                string
	order                                                 appOrder
	limit                                                 int
	// after starts the page after a position; before ends it there (the
	// previous page).
	after  *cursor
	before bool
}

// cursor is the content of a continue token: the sort key and name of the
// last app of the previous page. The next page starts after that position
// in the order, so apps added or deleted meanwhile neither shift nor
// repeat the apps that stay.
type cursor struct {
	Sort string `json:"s"`
	Key  string `json:"k,omitempty"`
	Name string `json:"n"`
	// Before marks a token of the previous page: the page ends before
	// the position instead of starting after it.
	Before bool `json:"b,omitempty"`
}

func (c cursor) token() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseCursor(tok string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, err
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// appOrder is a sort order: a key per app, ties broken by name.
type appOrder struct {
	name string // as given: name, -name, syncedAt, ...
	key  func(*sollv1.Application) string
	desc bool
}

// healthRank orders health so that the apps needing attention come first.
var healthRank = map[sollv1.HealthStatusCode]string{
	sollv1.HealthDegraded: "0", sollv1.HealthMissing: "1", sollv1.HealthProgressing: "2",
	sollv1.HealthSuspended: "3", sollv1.HealthUnknown: "4", sollv1.HealthHealthy: "5",
}

var sortKeys = map[string]func(*sollv1.Application) string{
	"name":     func(*sollv1.Application) string { return "" },
	"syncedAt": func(a *sollv1.Application) string { return syncedAt(a) },
	"health":   func(a *sollv1.Application) string { return healthRank[appHealth(a)] },
}

// syncedAt is the time of the app's last successful sync (the newest
// history entry) in a form that sorts as text; "" when it never synced.
func syncedAt(a *sollv1.Application) string {
	h := a.Status.History
	if len(h) == 0 {
		return ""
	}
	return h[len(h)-1].DeployedAt.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

func appHealth(a *sollv1.Application) sollv1.HealthStatusCode {
	if a.Status.Health == nil || a.Status.Health.Status == "" {
		return sollv1.HealthUnknown
	}
	return a.Status.Health.Status
}

func appSync(a *sollv1.Application) sollv1.SyncStatusCode {
	if a.Status.Sync == nil || a.Status.Sync.Status == "" {
		return sollv1.SyncStatusUnknown
	}
	return a.Status.Sync.Status
}

func appProject(a *sollv1.Application) string {
	if a.Spec.Project == "" {
		return "default"
	}
	return a.Spec.Project
}

// compare orders a (key ka) before b (key kb) by the order.
func (o appOrder) compare(ka, na, kb, nb string) int {
	c := cmp.Or(cmp.Compare(ka, kb), cmp.Compare(na, nb))
	if o.desc {
		return -c
	}
	return c
}

func parseAppQuery(q url.Values) (*appQuery, error) {
	aq := &appQuery{
		projects:     splitList(q.Get("project")),
		syncStatuses: splitList(q.Get("syncStatus")),
		healths:      splitList(q.Get("health")),
		namespaces:   splitList(q.Get("namespace")),
		clusters:     splitList(q.Get("cluster")),
		search:       strings.ToLower(q.Get("search")),
		limit:        apitypes.DefaultLimit,
	}
	if s := q.Get("selector"); s != "" {
		sel, err := labels.Parse(s)
		if err != nil {
			return nil, invalid("selector", "selector %q is not a label selector: %v", s, err)
		}
		aq.selector = sel
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > apitypes.MaxLimit {
			return nil, invalid("limit", "limit %q must be a number from 1 to %d", s, apitypes.MaxLimit)
		}
		aq.limit = n
	}
	sortBy := cmp.Or(q.Get("sort"), "name")
	key, ok := sortKeys[strings.TrimPrefix(sortBy, "-")]
	if !ok {
		return nil, invalid("sort", "sort %q is not one of name, syncedAt and health (prefix - to reverse)", sortBy)
	}
	aq.order = appOrder{name: sortBy, key: key, desc: strings.HasPrefix(sortBy, "-")}
	if tok := q.Get("continue"); tok != "" {
		c, err := parseCursor(tok)
		if err != nil {
			return nil, invalid("continue", "continue token is damaged: pass the one the previous page returned")
		}
		if c.Sort != sortBy {
			return nil, invalid("continue", "continue token belongs to sort=%s, not sort=%s", c.Sort, sortBy)
		}
		aq.after, aq.before = c, c.Before
	}
	return aq, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// appClusters are the names an app's destination cluster answers to: its
// name and its server's URL, the cluster soll runs in being both
// "in-cluster" and InClusterServer.
func appClusters(a *sollv1.Application) (name, server string) {
	name, server = a.Spec.Destination.Name, a.Spec.Destination.Server
	switch {
	case name == "" && server == InClusterServer:
		name = sollv1.InClusterName
	case server == "" && name == sollv1.InClusterName:
		server = InClusterServer
	}
	return name, server
}

// matchesBase applies the filters other than RBAC and the two statuses,
// which matches and the counts apply on their own.
func (q *appQuery) matchesBase(a *sollv1.Application) bool {
	if len(q.projects) > 0 && !slices.Contains(q.projects, appProject(a)) {
		return false
	}
	if len(q.namespaces) > 0 && !slices.Contains(q.namespaces, a.Spec.Destination.Namespace) {
		return false
	}
	if len(q.clusters) > 0 {
		name, server := appClusters(a)
		if !slices.ContainsFunc(q.clusters, func(c string) bool { return c != "" && (c == name || c == server) }) {
			return false
		}
	}
	if q.selector != nil && !q.selector.Matches(labels.Set(a.Labels)) {
		return false
	}
	return q.search == "" || strings.Contains(strings.ToLower(a.Name), q.search)
}

func (q *appQuery) matchesSync(a *sollv1.Application) bool {
	return len(q.syncStatuses) == 0 || slices.Contains(q.syncStatuses, string(appSync(a)))
}

func (q *appQuery) matchesHealth(a *sollv1.Application) bool {
	return len(q.healths) == 0 || slices.Contains(q.healths, string(appHealth(a)))
}

// matches applies the filters other than RBAC.
func (q *appQuery) matches(a *sollv1.Application) bool {
	return q.matchesBase(a) && q.matchesSync(a) && q.matchesHealth(a)
}

// page filters (RBAC first), sorts and cuts one page out of apps, which
// it must not change: they are the cache's own objects. It counts the
// apps by status on the way: by sync status those that pass every filter
// but the sync status's, by health those that pass every filter but
// health's, so that each count says how many apps choosing that status
// would list.
func (q *appQuery) page(apps []sollv1.Application, visible func(*sollv1.Application) bool) apitypes.AppList {
	type entry struct {
		app *sollv1.Application
		key string
	}
	var all []entry
	counts := apitypes.AppCounts{Sync: map[string]int{}, Health: map[string]int{}}
	for i := range apps {
		a := &apps[i]
		if !q.matchesBase(a) || !visible(a) {
			continue
		}
		syncOK, healthOK := q.matchesSync(a), q.matchesHealth(a)
		if healthOK {
			counts.Sync[string(appSync(a))]++
		}
		if syncOK {
			counts.Health[string(appHealth(a))]++
		}
		if syncOK && healthOK {
			all = append(all, entry{a, q.order.key(a)})
		}
	}
	slices.SortFunc(all, func(x, y entry) int { return q.order.compare(x.key, x.app.Name, y.key, y.app.Name) })
	start, end := 0, min(q.limit, len(all))
	if c := q.after; c != nil {
		// The first entry after the position (or, for a previous page,
		// at or after it: where the page ends).
		at, _ := slices.BinarySearchFunc(all, c, func(e entry, c *cursor) int {
			if q.order.compare(e.key, e.app.Name, c.Key, c.Name) < 0 || (!q.before && e.key == c.Key && e.app.Name == c.Name) {
				return -1
			}
			return 1
		})
		if q.before {
			start, end = max(0, at-q.limit), at
		} else {
			start, end = at, min(at+q.limit, len(all))
		}
	}
	out := apitypes.AppList{Items: []*sollv1.Application{}, Total: len(all), Counts: counts}
	for _, e := range all[start:end] {
		out.Items = append(out.Items, present(e.app))
	}
	if end < len(all) && end > 0 {
		last := all[end-1]
		out.Continue = cursor{Sort: q.order.name, Key: last.key, Name: last.app.Name}.token()
	}
	if start > 0 && start < len(all) {
		first := all[start]
		out.Previous = cursor{Sort: q.order.name, Key: first.key, Name: first.app.Name, Before: true}.token()
	}
	return out
}

// present returns a copy of app fit for a response: typed, without the
// managed fields' bookkeeping.
func present(app *sollv1.Application) *sollv1.Application {
	a := app.DeepCopy()
	a.APIVersion, a.Kind = sollv1.GroupVersion.String(), "Application"
	a.ManagedFields = nil
	return a
}
