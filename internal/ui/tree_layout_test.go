package ui

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/server"
)

// managed and child make nodes of an API tree.
func managed(group, kind, name, sync, health string) apitypes.TreeNode {
	return apitypes.TreeNode{ResourceRef: apitypes.ResourceRef{Group: group, Kind: kind, Namespace: "web", Name: name}, Managed: true,
		Status: sollv1.SyncStatusCode(sync), Health: &sollv1.HealthStatus{Status: sollv1.HealthStatusCode(health)}}
}

func child(group, kind, name string, parent apitypes.ResourceRef, info map[string]string) apitypes.TreeNode {
	return apitypes.TreeNode{ResourceRef: apitypes.ResourceRef{Group: group, Kind: kind, Namespace: "web", Name: name},
		ParentRefs: []apitypes.ResourceRef{parent}, Info: info}
}

func ref(group, kind, name string) apitypes.ResourceRef {
	return apitypes.ResourceRef{Group: group, Kind: kind, Namespace: "web", Name: name}
}

// checkLayout fails on boxes that overlap or leave the drawing, and on
// edges that do not join a parent's column to the next.
func checkLayout(t *testing.T, l treeLayout) {
	t.Helper()
	for i, a := range l.Nodes {
		if a.X < 0 || a.Y < 0 || a.X+a.W > l.Width || a.Y+a.H > l.Height {
			t.Errorf("node %s %s at %d,%d leaves the %dx%d drawing", a.Kind, a.Name, a.X, a.Y, l.Width, l.Height)
		}
		for _, b := range l.Nodes[i+1:] {
			if a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H {
				t.Errorf("nodes %s %s (%d,%d) and %s %s (%d,%d) overlap", a.Kind, a.Name, a.X, a.Y, b.Kind, b.Name, b.X, b.Y)
			}
		}
	}
	if len(l.Nodes) > 0 && len(l.Edges) != len(l.Nodes)-1 {
		t.Errorf("%d edges for %d nodes, want one per node but the app", len(l.Edges), len(l.Nodes))
	}
}

func nodeOf(t *testing.T, l treeLayout, kind, name string) treeNode {
	t.Helper()
	for _, n := range l.Nodes {
		if n.Kind == kind && n.Name == name {
			return n
		}
	}
	t.Fatalf("no node %s %s in %+v", kind, name, l.Nodes)
	return treeNode{}
}

// TestLayoutTree checks the server's layout: the app in the first
// column, each level of children one column further, a parent on the row
// of its first child, no overlaps, one edge per object.
func TestLayoutTree(t *testing.T) {
	dep, rs := ref("apps", "Deployment", "web"), ref("apps", "ReplicaSet", "web-5d8f")
	tree := &apitypes.Tree{Nodes: []apitypes.TreeNode{
		managed("apps", "Deployment", "web", "Synced", "Healthy"),
		managed("", "Service", "web", "OutOfSync", "Healthy"),
		managed("", "ConfigMap", "settings", "Synced", ""),
		child("apps", "ReplicaSet", rs.Name, dep, map[string]string{"replicas": "2", "readyReplicas": "1"}),
		child("", "Pod", "web-5d8f-a", rs, map[string]string{"phase": "Running", "ready": "True"}),
		child("", "Pod", "web-5d8f-b", rs, map[string]string{"phase": "Pending"}),
		// An owner that is not in the tree: the child hangs from the app.
		child("", "Pod", "stray", ref("apps", "ReplicaSet", "gone"), map[string]string{"phase": "Failed"}),
	}}
	items := treeItems("web", tree)
	l := layoutTree("web", "OutOfSync", "Progressing", items)
	checkLayout(t, l)
	if len(l.Nodes) != 8 {
		t.Fatalf("%d nodes, want the app and 7 objects", len(l.Nodes))
	}
	root := l.Nodes[0]
	if !root.Root || root.X != treePad || root.Name != "web" || root.Sync != "OutOfSync" || root.Health != "Progressing" {
		t.Errorf("the app's node: %+v", root)
	}
	col := func(n treeNode) int { return (n.X - treePad) / (nodeW + gapX) }
	row := func(n treeNode) int { return (n.Y - treePad) / (nodeH + gapY) }
	d, r := nodeOf(t, l, "Deployment", "web"), nodeOf(t, l, "ReplicaSet", rs.Name)
	a, b := nodeOf(t, l, "Pod", "web-5d8f-a"), nodeOf(t, l, "Pod", "web-5d8f-b")
	if col(d) != 1 || col(r) != 2 || col(a) != 3 || col(b) != 3 || col(nodeOf(t, l, "Pod", "stray")) != 1 {
		t.Errorf("columns: Deployment %d, ReplicaSet %d, Pods %d %d, stray Pod %d; want 1, 2, 3, 3, 1", col(d), col(r), col(a), col(b), col(nodeOf(t, l, "Pod", "stray")))
	}
	if row(d) != row(r) || row(r) != row(a) || row(b) != row(a)+1 || row(root) != 0 {
		t.Errorf("rows: app %d, Deployment %d, ReplicaSet %d, Pods %d %d; want a parent on its first child's row", row(root), row(d), row(r), row(a), row(b))
	}
	// Children's health comes from their state; managed objects keep
	// their own statuses.
	if a.Health != "Healthy" || b.Health != "Progressing" || r.Health != "Progressing" || nodeOf(t, l, "Pod", "stray").Health != "Degraded" {
		t.Errorf("children's health: %q %q %q", a.Health, b.Health, r.Health)
	}
	if a.Sync != "" || d.Sync != "Synced" {
		t.Errorf("sync: Pod %q (a child has none), Deployment %q", a.Sync, d.Sync)
	}
	if !strings.HasPrefix(d.Href, "/applications/web/resource?") {
		t.Errorf("the Deployment's link: %q", d.Href)
	}
	q, _ := url.ParseQuery(strings.TrimPrefix(d.Href, "/applications/web/resource?"))
	if q.Get("group") != "apps" || q.Get("kind") != "Deployment" || q.Get("namespace") != "web" || q.Get("name") != "web" {
		t.Errorf("the Deployment's link names %v", q)
	}
	if d.Label != "Deployment web, Synced, Healthy; namespace web" {
		t.Errorf("the Deployment's accessible name: %q", d.Label)
	}
	// Edges run from the right of a parent to the left of a child.
	want := fmt.Sprintf("M%d %d C", d.X+nodeW, d.Y+nodeH/2)
	found := false
	for _, e := range l.Edges {
		found = found || strings.HasPrefix(e.D, want) && strings.HasSuffix(e.D, fmt.Sprintf(" %d %d", r.X, r.Y+nodeH/2))
	}
	if !found {
		t.Errorf("no edge from the Deployment to its ReplicaSet in %+v", l.Edges)
	}
}

// TestCollapse checks that a kind with more than collapseAbove objects
// becomes one node per owner linking to the list of that kind, and that
// one at the bound does not.
func TestCollapse(t *testing.T) {
	dep := ref("apps", "Deployment", "web")
	nodes := []apitypes.TreeNode{managed("apps", "Deployment", "web", "Synced", "Healthy")}
	for i := range 2 {
		rs := ref("apps", "ReplicaSet", fmt.Sprintf("web-%d", i))
		nodes = append(nodes, child("apps", "ReplicaSet", rs.Name, dep, nil))
		for j := range 320 {
			phase := "Running"
			if i == 1 && j == 7 {
				phase = "Failed"
			}
			nodes = append(nodes, child("", "Pod", fmt.Sprintf("web-%d-%d", i, j), rs, map[string]string{"phase": phase, "ready": "True"}))
		}
	}
	for i := range collapseAbove {
		nodes = append(nodes, managed("", "ConfigMap", fmt.Sprintf("cm-%03d", i), "Synced", "Healthy"))
	}
	for i := range 1000 {
		nodes = append(nodes, managed("", "Secret", fmt.Sprintf("s-%04d", i), "OutOfSync", ""))
	}
	items := treeItems("web", &apitypes.Tree{Nodes: nodes})
	items, kinds := collapse(items, collapseAbove, func(kind string) string { return "/applications/web?view=list&kind=" + kind })
	if fmt.Sprint(kinds) != "[Pod Secret]" {
		t.Errorf("collapsed kinds %v, want [Pod Secret] (ConfigMap has exactly %d)", kinds, collapseAbove)
	}
	l := layoutTree("web", "OutOfSync", "Degraded", items)
	checkLayout(t, l)
	// The app, the Deployment, 2 ReplicaSets, a Pod node under each,
	// 50 ConfigMaps and one Secret node.
	if len(l.Nodes) != 1+1+2+2+collapseAbove+1 {
		t.Errorf("%d nodes", len(l.Nodes))
	}
	var pods []treeNode
	for _, n := range l.Nodes {
		if n.Kind == "Pod" {
			pods = append(pods, n)
		}
		if n.Kind == "Secret" && (n.Count != 1000 || n.Name != "×1000" || n.Sync != "OutOfSync" || n.Href != "/applications/web?view=list&kind=Secret") {
			t.Errorf("the Secrets' node: %+v", n)
		}
	}
	if len(pods) != 2 || pods[0].Count != 320 || pods[1].Count != 320 {
		t.Fatalf("Pod nodes: %+v", pods)
	}
	if pods[0].Health != "Healthy" || pods[1].Health != "Degraded" {
		t.Errorf("a collapsed node shows the worst health of its objects: %q %q", pods[0].Health, pods[1].Health)
	}
	if !strings.Contains(pods[0].Label, "320 objects of kind Pod") {
		t.Errorf("the Pods' accessible name: %q", pods[0].Label)
	}
}

// TestFilterKeepsAncestors checks that the filters keep what matches and
// what it hangs from.
func TestFilterKeepsAncestors(t *testing.T) {
	dep, rs := ref("apps", "Deployment", "web"), ref("apps", "ReplicaSet", "web-1")
	items := treeItems("web", &apitypes.Tree{Nodes: []apitypes.TreeNode{
		managed("apps", "Deployment", "web", "Synced", "Healthy"),
		managed("", "Service", "web", "OutOfSync", "Healthy"),
		child("apps", "ReplicaSet", rs.Name, dep, nil),
		child("", "Pod", "web-1-a", rs, map[string]string{"phase": "Failed"}),
		child("", "Pod", "web-1-b", rs, map[string]string{"phase": "Running", "ready": "True"}),
	}})
	var names []string
	for _, it := range filterItems(items, treeQuery{Kind: "Pod", Health: "Degraded"}) {
		names = append(names, it.Kind+" "+it.Name)
	}
	if got := strings.Join(names, ", "); got != "Deployment web, ReplicaSet web-1, Pod web-1-a" {
		t.Errorf("filtered: %s", got)
	}
	if n := len(filterItems(items, treeQuery{Sync: "OutOfSync"})); n != 1 {
		t.Errorf("OutOfSync: %d objects, want the Service", n)
	}
}

// TestParseUnified checks the side-by-side pairing of a unified diff.
func TestParseUnified(t *testing.T) {
	lines, rows := parseUnified("--- live\n+++ desired\n@@ -1,4 +1,4 @@\n kind: Deployment\n-  replicas: 3\n+  replicas: 1\n+  paused: true\n metadata: {}\n")
	if len(lines) != 8 || lines[0].Kind != "head" || lines[2].Kind != "hunk" || lines[4].Kind != "del" || lines[5].Kind != "add" {
		t.Errorf("lines: %+v", lines)
	}
	want := []sideRow{
		{Hunk: "@@ -1,4 +1,4 @@"},
		{Left: "kind: Deployment", Right: "kind: Deployment", LeftKind: "ctx", RightKind: "ctx"},
		{Left: "  replicas: 3", LeftKind: "del", Right: "  replicas: 1", RightKind: "add"},
		{Right: "  paused: true", RightKind: "add", LeftKind: "none"},
		{Left: "metadata: {}", Right: "metadata: {}", LeftKind: "ctx", RightKind: "ctx"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("side by side:\n%+v\nwant\n%+v", rows, want)
	}
}

type allowAll struct{}

func (allowAll) Allowed(*server.Principal, string, string, string) bool { return true }

type noTokens struct{}

func (noTokens) FormToken(string, string) string            { return "token" }
func (noTokens) CheckFormToken(string, string, string) bool { return false }

func testUI(t *testing.T) *UI {
	t.Helper()
	u, err := New(Options{API: http.NotFoundHandler(), RBAC: allowAll{}, Forms: noTokens{},
		Authenticate: func(context.Context, string) (*server.Principal, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

const hostile = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`

// TestTreeEscapes renders the tree and the panel with names, kinds and
// messages that are markup, and checks that they stay text.
func TestTreeEscapes(t *testing.T) {
	u := testUI(t)
	node := managed("", "Kind"+hostile, "name"+hostile, "OutOfSync", "Degraded")
	node.Health.Message = "message" + hostile
	items := treeItems("app", &apitypes.Tree{Nodes: []apitypes.TreeNode{node,
		child("", "Pod", "javascript:alert(3)", ref("", node.Kind, node.Name), map[string]string{"phase": hostile})}})
	for _, list := range []bool{false, true} {
		v := &treeView{App: "app", List: list, Kinds: []string{node.Kind}, Query: treeQuery{Kind: hostile}, Fragment: "/applications/app/tree"}
		if list {
			for _, it := range items {
				v.Rows = append(v.Rows, treeRow{Kind: it.Kind, Name: it.Name, Href: it.Href, Managed: it.Managed, Sync: it.Sync, Health: it.Health, HealthMsg: it.HealthMsg, Info: it.Info})
			}
		} else {
			v.Layout = layoutTree("app", "OutOfSync", "Degraded", items)
		}
		v.Total, v.Shown = 2, 2
		var buf bytes.Buffer
		if err := u.fragments.ExecuteTemplate(&buf, "tree", v); err != nil {
			t.Fatal(err)
		}
		checkEscaped(t, fmt.Sprintf("tree (list %v)", list), buf.String())
		if !strings.Contains(buf.String(), `href="/applications/app/resource?kind=Pod&amp;name=javascript%3Aalert%283%29`) {
			t.Errorf("the Pod's link is not a resource panel link:\n%s", buf.String())
		}
	}
	v := &resourceView{App: "app", Kind: node.Kind, Name: node.Name, Managed: true, Sync: "OutOfSync", Health: "Degraded", HealthMsg: node.Health.Message,
		DiffNote: "note" + hostile, Live: "data: " + hostile, Drift: []string{"data.x changed by " + hostile}, Desired: "data: " + hostile, Events: []eventRow{{Reason: hostile, Message: hostile, Source: hostile}}}
	v.Diff, v.Side = parseUnified("--- live\n+++ desired\n@@ -1 +1 @@\n-" + hostile + "\n+" + hostile + "\n")
	var buf bytes.Buffer
	if err := u.pages[pageResource].Execute(&buf, layout{Title: node.Name, User: "admin", Page: v}); err != nil {
		t.Fatal(err)
	}
	checkEscaped(t, "resource panel", buf.String())
}

func checkEscaped(t *testing.T, what, html string) {
	t.Helper()
	for _, bad := range []string{"<script>alert", "<img", `"'>`, `href="javascript:`} {
		if strings.Contains(html, bad) {
			t.Errorf("%s: %q is markup in:\n%s", what, bad, html)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("%s: the hostile text is not shown as text:\n%s", what, html)
	}
}

// BenchmarkTreeView lays out and renders the tree of an app with 1,000
// managed objects and 640 Pods: what the app page does for the tree.
func BenchmarkTreeView(b *testing.B) {
	u, err := New(Options{API: http.NotFoundHandler(), RBAC: allowAll{}, Forms: noTokens{},
		Authenticate: func(context.Context, string) (*server.Principal, error) { return nil, nil }})
	if err != nil {
		b.Fatal(err)
	}
	var nodes []apitypes.TreeNode
	for i := range 1000 {
		nodes = append(nodes, managed("", []string{"ConfigMap", "Service", "Secret", "ServiceAccount"}[i%4], fmt.Sprintf("obj-%04d", i), "Synced", "Healthy"))
	}
	nodes = append(nodes, managed("apps", "Deployment", "web", "Synced", "Healthy"), child("apps", "ReplicaSet", "web-1", ref("apps", "Deployment", "web"), nil))
	for i := range 640 {
		nodes = append(nodes, child("", "Pod", fmt.Sprintf("web-1-%03d", i), ref("apps", "ReplicaSet", "web-1"), map[string]string{"phase": "Running", "ready": "True"}))
	}
	tree := &apitypes.Tree{Nodes: nodes}
	var size int
	for b.Loop() {
		items, kinds := collapse(treeItems("web", tree), collapseAbove, func(kind string) string { return "/applications/web?view=list&kind=" + kind })
		v := &treeView{App: "web", Collapsed: kinds, Layout: layoutTree("web", "Synced", "Healthy", items)}
		var buf bytes.Buffer
		if err := u.fragments.ExecuteTemplate(&buf, "tree", v); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "bytes")
}
