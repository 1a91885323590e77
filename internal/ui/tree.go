package ui

import (
	"bytes"
	"cmp"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// The resource tree of an app page: the app, its managed resources and
// their children (from GET /api/v1/applications/{name}/tree), drawn as
// SVG laid out here, on the server, or as a list. Filters and the view
// are query parameters of the page, so they work without JavaScript and
// can be bookmarked; static/tree.js swaps in a fresh copy (the fragment
// route) when the app's event stream reports a change.

// Layout of the SVG, in pixels: a node is a box of nodeW×nodeH; columns
// (by depth) are gapX apart, rows (by order) gapY.
const (
	nodeW   = 230
	nodeH   = 64
	gapX    = 40
	gapY    = 14
	treePad = 4
	// nameChars is how much of a name fits in a box; the full name is
	// in the node's title and accessible name.
	nameChars = 26
)

// collapseAbove is the number of nodes of one kind above which the tree
// draws them as one node per parent, "Pod ×640", linking to the list
// filtered by that kind.
const collapseAbove = 50

// Values of the view parameter.
const (
	viewTree = "tree"
	viewList = "list"
)

// treeQuery is what the tree parameters of a page ask for.
type treeQuery struct {
	View, Kind, Sync, Health string
}

func treeQueryOf(q url.Values) treeQuery {
	tq := treeQuery{View: viewTree, Kind: strings.TrimSpace(q.Get("kind")), Sync: strings.TrimSpace(q.Get("sync")), Health: strings.TrimSpace(q.Get("health"))}
	if q.Get("view") == viewList {
		tq.View = viewList
	}
	return tq
}

// values are the query parameters of tq; the default view is left out.
func (tq treeQuery) values() url.Values {
	v := url.Values{}
	if tq.View == viewList {
		v.Set("view", viewList)
	}
	for k, s := range map[string]string{"kind": tq.Kind, "sync": tq.Sync, "health": tq.Health} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

func (tq treeQuery) filtered() bool { return tq.Kind != "" || tq.Sync != "" || tq.Health != "" }

// treeItem is one object of the tree before layout: a managed resource
// or a child, with its parent's key ("" for the app itself).
type treeItem struct {
	Key, Parent                   string
	Group, Kind, Namespace, Name  string
	Managed                       bool
	Sync, Health, HealthMsg, Info string
	Href                          string
	count                         int
	depth                         int
	children                      []*treeItem
	row                           int
	// collapsedKind is set on a node that stands for count objects of
	// that kind (collapse).
	collapsedKind string
}

// treeNode is a drawn node: its box and texts.
type treeNode struct {
	X, Y, W, H, TextX, KindY, NameY, StatusY int
	Kind, Name, ShortName                    string
	Key                                      string
	Sync, Health                             string
	SyncIcon, HealthIcon                     string
	Href                                     string
	// Label is the node's accessible name: kind, name and statuses.
	Label string
	// Count is the number of objects of a collapsed node; 0 otherwise.
	Count int
	Root  bool
}

// treeEdge joins a parent's right side to a child's left side.
type treeEdge struct{ D string }

// treeLayout is the tree placed on the page.
type treeLayout struct {
	Width, Height int
	Nodes         []treeNode
	Edges         []treeEdge
}

// treeRow is a row of the list view.
type treeRow struct {
	Kind, Namespace, Name, Href, Owner string
	Managed                            bool
	Sync, Health, HealthMsg, Info      string
}

// treeView is the tree section of an app page, and the fragment
// static/tree.js fetches to refresh it.
type treeView struct {
	App string
	// ResourceVersion is the app's, as the tree was read; the script
	// ignores stream events of the same version.
	ResourceVersion string
	Query           treeQuery
	List            bool
	Kinds           []string
	SyncOptions     []string
	HealthOptions   []string
	// Action is the page the filter form is sent to; Fragment the
	// route that renders this section alone.
	Action, Fragment              string
	TreeHref, ListHref, ClearHref string
	Layout                        treeLayout
	Rows                          []treeRow
	// Total counts the objects of the tree, Managed the app's own;
	// Shown those the filters keep.
	Total, Managed, Shown int
	Collapsed             []string
	Truncated             bool
	Error                 string
}

// statusIcons are the icons of statuses in the SVG, where the
// stylesheet's ::before icons (.st-<status> in soll.css) do not apply; the
// two lists must agree.
var statusIcons = map[string]string{
	"Synced": "\u2713", "Healthy": "\u2713", "Succeeded": "\u2713",
	"OutOfSync":   "\u2260",
	"Progressing": "\u21BB", "Running": "\u21BB",
	"Degraded": "\u2717", "Failed": "\u2717", "Error": "\u2717",
	"Missing":   "\u2205",
	"Suspended": "\u2016",
	"Unknown":   "?",
}

func statusIcon(s string) string {
	if i, ok := statusIcons[s]; ok {
		return i
	}
	return "\u2013"
}

// resourceHref is the resource panel of an object of app.
func resourceHref(app, group, kind, ns, name string) string {
	v := url.Values{"kind": {kind}, "name": {name}}
	if group != "" {
		v.Set("group", group)
	}
	if ns != "" {
		v.Set("namespace", ns)
	}
	return appHref(app) + "/resource?" + v.Encode()
}

func itemKey(group, kind, ns, name string) string { return group + "/" + kind + "/" + ns + "/" + name }

// childHealth derives a child's health from what the tree says of it: a
// Pod from its phase and readiness, a ReplicaSet from its ready replicas,
// a Job from its succeeded and failed Pods. "" when it says nothing.
func childHealth(kind string, info map[string]string) string {
	switch kind {
	case "Pod":
		switch info["phase"] {
		case "Running":
			if info["ready"] == "True" {
				return string(sollv1.HealthHealthy)
			}
			return string(sollv1.HealthProgressing)
		case "Succeeded":
			return string(sollv1.HealthHealthy)
		case "Pending":
			return string(sollv1.HealthProgressing)
		case "Failed":
			return string(sollv1.HealthDegraded)
		}
	case "ReplicaSet":
		if r, ok := info["replicas"]; ok {
			if r == info["readyReplicas"] {
				return string(sollv1.HealthHealthy)
			}
			return string(sollv1.HealthProgressing)
		}
	case "Job":
		switch {
		case info["failed"] != "" && info["failed"] != "0":
			return string(sollv1.HealthDegraded)
		case info["succeeded"] != "" && info["succeeded"] != "0":
			return string(sollv1.HealthHealthy)
		case info != nil:
			return string(sollv1.HealthProgressing)
		}
	}
	return ""
}

// infoText writes a child's facts as "phase Running, ready True".
func infoText(info map[string]string) string {
	keys := make([]string, 0, len(info))
	for k := range info {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + info[k]
	}
	return strings.Join(parts, ", ")
}

// treeItems turns the API's tree into items: every node with its parent
// (its first owner in the tree; the app for managed resources and for
// children whose owner is not in the tree).
func treeItems(app string, t *apitypes.Tree) []*treeItem {
	keys := map[string]bool{}
	for _, n := range t.Nodes {
		keys[itemKey(n.Group, n.Kind, n.Namespace, n.Name)] = true
	}
	out := make([]*treeItem, 0, len(t.Nodes))
	for _, n := range t.Nodes {
		it := &treeItem{Key: itemKey(n.Group, n.Kind, n.Namespace, n.Name), Group: n.Group, Kind: n.Kind, Namespace: n.Namespace, Name: n.Name,
			Managed: n.Managed, Href: resourceHref(app, n.Group, n.Kind, n.Namespace, n.Name), count: 1}
		if n.Managed {
			it.Sync = string(n.Status)
			if it.Sync == "" {
				it.Sync = string(sollv1.SyncStatusUnknown)
			}
			if n.Health != nil {
				it.Health, it.HealthMsg = string(n.Health.Status), n.Health.Message
			}
		} else {
			it.Health, it.Info = childHealth(n.Kind, n.Info), infoText(n.Info)
			for _, p := range n.ParentRefs {
				if k := itemKey(p.Group, p.Kind, p.Namespace, p.Name); keys[k] && k != it.Key {
					it.Parent = k
					break
				}
			}
		}
		out = append(out, it)
	}
	return out
}

// filterItems keeps the items that match tq and, so that the tree stays
// joined, their ancestors.
func filterItems(items []*treeItem, tq treeQuery) []*treeItem {
	if !tq.filtered() {
		return items
	}
	byKey := map[string]*treeItem{}
	for _, it := range items {
		byKey[it.Key] = it
	}
	keep := map[string]bool{}
	for _, it := range items {
		if (tq.Kind == "" || it.Kind == tq.Kind) && (tq.Sync == "" || it.Sync == tq.Sync) && (tq.Health == "" || it.Health == tq.Health) {
			for p := it; p != nil && !keep[p.Key]; p = byKey[p.Parent] {
				keep[p.Key] = true
			}
		}
	}
	var out []*treeItem
	for _, it := range items {
		if keep[it.Key] {
			out = append(out, it)
		}
	}
	return out
}

// statusRank orders statuses for a collapsed node, which shows the
// worst of its objects (Unknown is both a sync status and a health).
var statusRank = map[string]int{
	string(sollv1.HealthDegraded): 6, string(sollv1.HealthMissing): 5, string(sollv1.SyncStatusOutOfSync): 5,
	string(sollv1.HealthProgressing): 4, string(sollv1.HealthSuspended): 3, string(sollv1.HealthUnknown): 2,
	string(sollv1.HealthHealthy): 1, string(sollv1.SyncStatusSynced): 1,
}

func worse(a, b string) string {
	if statusRank[b] > statusRank[a] {
		return b
	}
	return a
}

// collapse replaces the objects of each kind that has more than limit
// of them by one node per parent, "Pod ×640", which links to the list
// of that kind; the children of collapsed objects hang from the
// collapsed node. It returns the items and the collapsed kinds.
func collapse(items []*treeItem, limit int, listHref func(kind string) string) ([]*treeItem, []string) {
	perKind := map[string]int{}
	for _, it := range items {
		perKind[it.Kind]++
	}
	var kinds []string
	for k, n := range perKind {
		if n > limit {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return items, nil
	}
	slices.Sort(kinds)
	byKey := map[string]*treeItem{}
	for _, it := range items {
		byKey[it.Key] = it
	}
	// Parents before children: depth first.
	depth := func(it *treeItem) int {
		d := 0
		for p := byKey[it.Parent]; p != nil && d <= len(items); p = byKey[p.Parent] {
			d++
		}
		return d
	}
	ordered := slices.Clone(items)
	slices.SortStableFunc(ordered, func(a, b *treeItem) int { return cmp.Compare(depth(a), depth(b)) })
	shown := map[string]string{} // an item's key -> the key of the node it is drawn as
	groups := map[string]*treeItem{}
	var out []*treeItem
	for _, it := range ordered {
		parent := it.Parent
		if p, ok := shown[parent]; ok {
			parent = p
		}
		if !slices.Contains(kinds, it.Kind) {
			c := *it
			c.Parent = parent
			out = append(out, &c)
			shown[it.Key] = it.Key
			continue
		}
		gk := "collapsed/" + it.Kind + "/" + parent
		g := groups[gk]
		if g == nil {
			g = &treeItem{Key: gk, Parent: parent, Kind: it.Kind, Managed: it.Managed, Href: listHref(it.Kind), collapsedKind: it.Kind}
			groups[gk] = g
			out = append(out, g)
		}
		g.count++
		g.Sync, g.Health = worse(g.Sync, it.Sync), worse(g.Health, it.Health)
		shown[it.Key] = gk
	}
	return out, kinds
}

// layoutTree places items: the app at the left, each level of children
// one column further right, and rows in order (children sorted by kind,
// namespace and name), a parent on the row of its first child, so that
// no two boxes overlap.
func layoutTree(app, appSync, appHealth string, items []*treeItem) treeLayout {
	root := &treeItem{Key: "", Kind: "Application", Name: app, Sync: appSync, Health: appHealth, count: 1}
	byKey := map[string]*treeItem{"": root}
	for _, it := range items {
		it.children = nil
		byKey[it.Key] = it
	}
	for _, it := range items {
		p := byKey[it.Parent]
		if p == nil || p == it {
			p = root
		}
		p.children = append(p.children, it)
	}
	var l treeLayout
	next := 0
	var place func(it *treeItem, depth int)
	seen := map[*treeItem]bool{}
	place = func(it *treeItem, depth int) {
		seen[it] = true
		it.depth = depth
		// Nodes are listed parent first (the order of keyboard focus),
		// their place known once the children are placed.
		slot := len(l.Nodes)
		l.Nodes = append(l.Nodes, treeNode{})
		slices.SortStableFunc(it.children, func(a, b *treeItem) int {
			return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Key, b.Key))
		})
		first := -1
		for _, c := range it.children {
			if seen[c] {
				continue // an ownership cycle: drawn once
			}
			place(c, depth+1)
			if first < 0 {
				first = c.row
			}
		}
		if first < 0 {
			first = next
			next++
		}
		it.row = first
		x, y := treePad+depth*(nodeW+gapX), treePad+it.row*(nodeH+gapY)
		n := treeNode{X: x, Y: y, W: nodeW, H: nodeH, TextX: x + 10, KindY: y + 17, NameY: y + 36, StatusY: y + 55, Kind: it.Kind, Name: it.Name, Key: it.Key,
			Sync: it.Sync, Health: it.Health, SyncIcon: statusIcon(it.Sync), HealthIcon: statusIcon(it.Health), Href: it.Href, Root: it == root}
		if it.collapsedKind != "" {
			n.Count = it.count
			n.Key = it.Key
			n.Name = "×" + strconv.Itoa(it.count)
		}
		n.ShortName = n.Name
		if r := []rune(n.Name); len(r) > nameChars {
			n.ShortName = string(r[:nameChars-1]) + "…"
		}
		n.Label = nodeLabel(it, n)
		l.Nodes[slot] = n
		l.Width = max(l.Width, x+nodeW+treePad)
		l.Height = max(l.Height, y+nodeH+treePad)
	}
	place(root, 0)
	// Edges once every node has its row.
	for _, it := range append([]*treeItem{root}, items...) {
		if !seen[it] {
			continue
		}
		x1, y1 := treePad+it.depth*(nodeW+gapX)+nodeW, treePad+it.row*(nodeH+gapY)+nodeH/2
		for _, c := range it.children {
			if c.depth != it.depth+1 {
				continue
			}
			x2, y2 := treePad+c.depth*(nodeW+gapX), treePad+c.row*(nodeH+gapY)+nodeH/2
			xm := (x1 + x2) / 2
			l.Edges = append(l.Edges, treeEdge{D: "M" + itoa(x1) + " " + itoa(y1) + " C" + itoa(xm) + " " + itoa(y1) + " " + itoa(xm) + " " + itoa(y2) + " " + itoa(x2) + " " + itoa(y2)})
		}
	}
	return l
}

func itoa(i int) string { return strconv.Itoa(i) }

// nodeLabel is what a screen reader says of a node (its title): the
// visible text first (kind, name, statuses), then what the box has no
// room for.
func nodeLabel(it *treeItem, n treeNode) string {
	parts := []string{it.Kind + " " + n.Name}
	if n.Root {
		parts[0] = "Application " + it.Name
	}
	for _, st := range []string{it.Sync, it.Health} {
		if st != "" {
			parts = append(parts, st)
		}
	}
	s := strings.Join(parts, ", ")
	var more []string
	switch {
	case n.Count > 0:
		more = append(more, strconv.Itoa(n.Count)+" objects of kind "+it.Kind+", collapsed: open their list")
	case it.Namespace != "":
		more = append(more, "namespace "+it.Namespace)
	}
	if it.HealthMsg != "" {
		more = append(more, it.HealthMsg)
	}
	if len(more) > 0 {
		s += "; " + strings.Join(more, "; ")
	}
	return s
}

// readTree reads the app's tree through the API and makes the view of
// it that tq asks for; API errors are shown in the section.
func (u *UI) readTree(r *http.Request, s *session, a *sollv1.Application, tq treeQuery) *treeView {
	base := appHref(a.Name)
	link := func(change func(*treeQuery)) string {
		c := tq
		change(&c)
		if q := c.values().Encode(); q != "" {
			return base + "?" + q + "#tree"
		}
		return base + "#tree"
	}
	v := &treeView{App: a.Name, ResourceVersion: a.ResourceVersion, Query: tq, List: tq.View == viewList,
		SyncOptions: syncStatuses, HealthOptions: healthStatuses, Action: base + "#tree",
		TreeHref:  link(func(c *treeQuery) { c.View = viewTree }),
		ListHref:  link(func(c *treeQuery) { c.View = viewList }),
		ClearHref: link(func(c *treeQuery) { c.Kind, c.Sync, c.Health = "", "", "" }),
	}
	v.Fragment = base + "/tree"
	if q := tq.values().Encode(); q != "" {
		v.Fragment += "?" + q
	}
	res := u.call(r, s.token, http.MethodGet, "/api/v1/applications/"+url.PathEscape(a.Name)+"/tree", nil)
	var t apitypes.Tree
	if res.status != http.StatusOK {
		v.Error = "The resource tree could not be read: " + res.apiError().Message
		return v
	}
	if err := res.decode(&t); err != nil {
		v.Error = "The resource tree could not be read: the API's answer could not be read: " + err.Error()
		return v
	}
	v.Truncated = t.Truncated
	items := treeItems(a.Name, &t)
	kinds := map[string]bool{}
	for _, it := range items {
		kinds[it.Kind] = true
		if it.Managed {
			v.Managed++
		}
	}
	for k := range kinds {
		v.Kinds = append(v.Kinds, k)
	}
	slices.Sort(v.Kinds)
	v.Total = len(items)
	items = filterItems(items, tq)
	v.Shown = len(items)
	if v.List {
		byKey := map[string]*treeItem{}
		for _, it := range items {
			byKey[it.Key] = it
		}
		for _, it := range items {
			row := treeRow{Kind: it.Kind, Namespace: it.Namespace, Name: it.Name, Href: it.Href, Managed: it.Managed,
				Sync: it.Sync, Health: it.Health, HealthMsg: it.HealthMsg, Info: it.Info}
			if p := byKey[it.Parent]; p != nil {
				row.Owner = p.Kind + " " + p.Name
			}
			v.Rows = append(v.Rows, row)
		}
		return v
	}
	items, v.Collapsed = collapse(items, collapseAbove, func(kind string) string {
		return link(func(c *treeQuery) { c.View, c.Kind = viewList, kind })
	})
	v.Layout = layoutTree(a.Name, syncStatus(a), healthStatus(a), items)
	return v
}

// treeFragment serves the tree section of an app page alone, for
// static/tree.js: the same session, RBAC and headers as the page; an
// answer other than 200 is an error the script reports.
func (u *UI) treeFragment(w http.ResponseWriter, r *http.Request) {
	s, err := u.session(r)
	if err != nil {
		http.Error(w, "Your session has ended: log in again.", http.StatusUnauthorized)
		return
	}
	name := r.PathValue("name")
	res := u.call(r, s.token, http.MethodGet, "/api/v1/applications/"+url.PathEscape(name), nil)
	if res.status != http.StatusOK {
		http.Error(w, res.apiError().Message, res.status)
		return
	}
	var a sollv1.Application
	if err := res.decode(&a); err != nil {
		http.Error(w, "The API's answer could not be read: "+err.Error(), http.StatusInternalServerError)
		return
	}
	v := u.readTree(r, s, &a, treeQueryOf(r.URL.Query()))
	var buf bytes.Buffer
	if err := u.fragments.ExecuteTemplate(&buf, "tree", v); err != nil {
		u.log.Error("render tree", "app", name, "error", err)
		http.Error(w, "The tree could not be rendered; the server's log has the details.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// parseFragments parses the templates served as parts of a page.
func parseFragments(funcs template.FuncMap) (*template.Template, error) {
	return template.New("fragments").Funcs(funcs).ParseFS(templateFS, "templates/status.html", "templates/tree.html")
}
