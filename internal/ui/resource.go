package ui

import (
	"cmp"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// The resource panel, /applications/{name}/resource?group=&kind=&namespace=&name=:
// one object of an app's tree with its sync status and health, the
// drifted fields, the diff between the live object and what a sync would
// make of it (unified and side by side), the desired manifest and the
// object's Events. Everything comes from the API, which masks Secret
// values in diffs and manifests; the panel never reads an object itself.

// resourceView is what the panel shows.
type resourceView struct {
	App, AppHref, TreeHref string
	// Self is the panel's own address, which the page's script fetches
	// again when the app changes; RV the app's version it shows.
	Self, RV                     string
	Group, Kind, Namespace, Name string
	Managed                      bool
	Owner, OwnerHref             string
	Sync, Health, HealthMsg      string
	Info                         string
	// Diff is the unified diff, split into lines; Side the same side by
	// side; DiffNote what the API says of it; Drift the differing fields
	// and who changed them.
	Diff     []diffLine
	Side     []sideRow
	DiffNote string
	Drift    []string
	// Live is the object in the cluster, as YAML, masked by the API as
	// diffs are; LiveNote says why there is none.
	Live, LiveNote string
	// Desired is the manifest a sync applies, as YAML, Secret values
	// masked by the API; DesiredNote says why there is none.
	Desired, DesiredNote string
	Events               []eventRow
	EventsError          string
}

// eventRow is an Event of the object.
type eventRow struct {
	Type, Reason, Message, Count, Last, Source string
}

// diffLine is a line of a unified diff and its kind: add, del, hunk or
// ctx (context and file headers).
type diffLine struct{ Kind, Text string }

// sideRow is a row of the side-by-side diff: the live line and the
// desired one (either may be absent), or a hunk header.
type sideRow struct {
	Hunk                string
	Left, Right         string
	LeftKind, RightKind string
}

// parseUnified splits a unified diff into lines and pairs them side by
// side: context on both sides, a run of removed lines beside the run of
// added lines that follows it.
func parseUnified(text string) ([]diffLine, []sideRow) {
	if text == "" {
		return nil, nil
	}
	var lines []diffLine
	var rows []sideRow
	var dels, adds []string
	flush := func() {
		for i := 0; i < max(len(dels), len(adds)); i++ {
			r := sideRow{LeftKind: "none", RightKind: "none"}
			if i < len(dels) {
				r.Left, r.LeftKind = dels[i], "del"
			}
			if i < len(adds) {
				r.Right, r.RightKind = adds[i], "add"
			}
			rows = append(rows, r)
		}
		dels, adds = nil, nil
	}
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ "):
			lines = append(lines, diffLine{"head", l})
		case strings.HasPrefix(l, "@@"):
			flush()
			lines = append(lines, diffLine{"hunk", l})
			rows = append(rows, sideRow{Hunk: l})
		case strings.HasPrefix(l, "-"):
			lines = append(lines, diffLine{"del", l})
			dels = append(dels, l[1:])
		case strings.HasPrefix(l, "+"):
			lines = append(lines, diffLine{"add", l})
			adds = append(adds, l[1:])
		default:
			flush()
			lines = append(lines, diffLine{"ctx", l})
			c := strings.TrimPrefix(l, " ")
			rows = append(rows, sideRow{Left: c, Right: c, LeftKind: "ctx", RightKind: "ctx"})
		}
	}
	flush()
	return lines, rows
}

// sameObject says whether a rendered object is the one asked for; a
// rendered object without a namespace takes the app's.
func sameObject(o *unstructured.Unstructured, group, kind, ns, name string) bool {
	gv, err := schema.ParseGroupVersion(o.GetAPIVersion())
	if err != nil || gv.Group != group || o.GetKind() != kind || o.GetName() != name {
		return false
	}
	return o.GetNamespace() == ns || o.GetNamespace() == ""
}

func (u *UI) resourcePage(w http.ResponseWriter, r *http.Request) {
	s := u.requireSession(w, r)
	if s == nil {
		return
	}
	q := r.URL.Query()
	group, kind, ns, name := q.Get("group"), q.Get("kind"), q.Get("namespace"), q.Get("name")
	if kind == "" || name == "" {
		u.renderError(w, r, s, http.StatusBadRequest, "Which resource?", "The link names no resource: it needs kind and name (and group and namespace where they apply). Open the resource from the application's tree.")
		return
	}
	a := u.readApp(w, r, s)
	if a == nil {
		return
	}
	base := "/api/v1/applications/" + url.PathEscape(a.Name)
	v := &resourceView{App: a.Name, AppHref: appHref(a.Name), TreeHref: appHref(a.Name) + "#tree", Group: group, Kind: kind, Namespace: ns, Name: name,
		Self: r.URL.RequestURI(), RV: a.ResourceVersion}
	res := u.call(r, s.token, http.MethodGet, base+"/tree", nil)
	var t apitypes.Tree
	if res.status != http.StatusOK {
		u.renderError(w, r, s, res.status, "The resource tree could not be read", res.apiError().Message)
		return
	}
	if err := res.decode(&t); err != nil {
		u.renderError(w, r, s, http.StatusInternalServerError, "The resource tree could not be read", "The API's answer could not be read: "+err.Error())
		return
	}
	items := treeItems(a.Name, &t)
	var it *treeItem
	for _, x := range items {
		if x.Key == itemKey(group, kind, ns, name) {
			it = x
		}
	}
	if it == nil {
		u.renderError(w, r, s, http.StatusNotFound, "Resource not found",
			kind+" "+name+" is not in the resource tree of application "+a.Name+" (it may be gone since the link was made): go back to the application.")
		return
	}
	v.Managed, v.Sync, v.Health, v.HealthMsg, v.Info = it.Managed, it.Sync, it.Health, it.HealthMsg, it.Info
	for _, x := range items {
		if x.Key == it.Parent {
			v.Owner, v.OwnerHref = x.Kind+" "+x.Name, x.Href
		}
	}
	if v.Managed {
		u.resourceDiff(r, s, base, v)
		u.resourceDesired(r, s, base, v)
	}
	u.resourceLive(r, s, base, v)
	u.resourceEvents(r, s, base, v)
	title := kind + " " + name
	l := layout{Title: title + " · " + a.Name, Crumbs: []crumb{{Label: "Applications", Href: "/applications"}, {Label: a.Name, Href: appHref(a.Name)}, {Label: title}},
		User: s.p.Subject, LogoutToken: s.formToken, Stream: "/api/v1/stream/applications/" + url.PathEscape(a.Name), Page: v}
	u.render(w, http.StatusOK, pageResource, l)
}

// resourceDiff fills the diff and drift of v from GET .../diff.
func (u *UI) resourceDiff(r *http.Request, s *session, base string, v *resourceView) {
	res := u.call(r, s.token, http.MethodGet, base+"/diff", nil)
	var d apitypes.Diff
	if res.status != http.StatusOK {
		v.DiffNote = "The diff could not be read: " + res.apiError().Message
		return
	}
	if err := res.decode(&d); err != nil {
		v.DiffNote = "The diff could not be read: the API's answer could not be read: " + err.Error()
		return
	}
	differs := false
	for _, rs := range d.Resources {
		differs = differs || rs.Group == v.Group && rs.Kind == v.Kind && rs.Namespace == v.Namespace && rs.Name == v.Name
	}
	if !differs {
		v.DiffNote = "No difference: as of the last comparison with Git, the live object is what a sync would make of it."
		return
	}
	for _, rd := range d.Diffs {
		if rd.Group == v.Group && rd.Kind == v.Kind && rd.Namespace == v.Namespace && rd.Name == v.Name {
			v.Diff, v.Side = parseUnified(rd.Diff)
			v.Drift = rd.Drift
		}
	}
	switch {
	case v.Diff != nil:
		v.DiffNote = "The live object (---, left) and what a sync would make of it (+++, right), Secret values masked."
	case v.Health == string(sollv1.HealthMissing):
		v.DiffNote = "The object is missing from the cluster: a sync creates it as the desired manifest below shows."
	default:
		v.DiffNote = "The object differs from Git, but how could not be shown: " + d.Note
	}
}

// resourceDesired fills the desired manifest of v from GET .../manifests
// (rendered at the target revisions, Secret values masked by the API).
func (u *UI) resourceDesired(r *http.Request, s *session, base string, v *resourceView) {
	res := u.call(r, s.token, http.MethodGet, base+"/manifests", nil)
	var m apitypes.Manifests
	if res.status != http.StatusOK {
		v.DesiredNote = "The desired manifest could not be rendered: " + res.apiError().Message
		return
	}
	if err := res.decode(&m); err != nil {
		v.DesiredNote = "The desired manifest could not be read: " + err.Error()
		return
	}
	for _, o := range m.Items {
		if sameObject(o, v.Group, v.Kind, v.Namespace, v.Name) {
			b, err := yaml.Marshal(o.Object)
			if err != nil {
				v.DesiredNote = "The desired manifest could not be written as YAML: " + err.Error()
				return
			}
			v.Desired = string(b)
			return
		}
	}
	v.DesiredNote = "The sources at their target revisions no longer render this object: a sync with prune deletes it."
}

// resourceLive fills the live manifest of v from GET .../live, which
// masks Secret data and values decrypted from SOPS files.
func (u *UI) resourceLive(r *http.Request, s *session, base string, v *resourceView) {
	q := url.Values{"kind": {v.Kind}, "name": {v.Name}}
	if v.Group != "" {
		q.Set("group", v.Group)
	}
	if v.Namespace != "" {
		q.Set("namespace", v.Namespace)
	}
	res := u.call(r, s.token, http.MethodGet, base+"/live?"+q.Encode(), nil)
	switch res.status {
	case http.StatusOK:
	case http.StatusNotFound:
		v.LiveNote = "The object is not in the cluster: " + res.apiError().Message + "."
		return
	default:
		v.LiveNote = "The live object could not be read: " + res.apiError().Message
		return
	}
	var obj map[string]any
	if err := res.decode(&obj); err != nil {
		v.LiveNote = "The live object could not be read: " + err.Error()
		return
	}
	b, err := yaml.Marshal(obj)
	if err != nil {
		v.LiveNote = "The live object could not be written as YAML: " + err.Error()
		return
	}
	v.Live = string(b)
}

// resourceEvents fills the Events of v from GET .../events.
func (u *UI) resourceEvents(r *http.Request, s *session, base string, v *resourceView) {
	res := u.call(r, s.token, http.MethodGet, base+"/events", nil)
	var l apitypes.List[apitypes.Event]
	if res.status != http.StatusOK {
		v.EventsError = "The events could not be read: " + res.apiError().Message
		return
	}
	if err := res.decode(&l); err != nil {
		v.EventsError = "The events could not be read: " + err.Error()
		return
	}
	for _, e := range l.Items {
		o := e.InvolvedObject
		if o.Kind == v.Kind && o.Name == v.Name && o.Namespace == v.Namespace && cmp.Or(o.Group, v.Group) == v.Group {
			v.Events = append(v.Events, eventRow{Type: e.Type, Reason: e.Reason, Message: e.Message, Count: eventCount(e.Count),
				Last: formatTime(&e.LastTimestamp), Source: e.Source})
		}
	}
}

// eventCount writes an Event's count for the table: "" for one.
func eventCount(n int32) string {
	if n <= 1 {
		return ""
	}
	return strconv.Itoa(int(n)) + " times"
}
