package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	sollproject "soll.dev/internal/project"
	"soll.dev/internal/server"
)

// The new-application form (/applications/new) builds an Application from
// its fields and creates it with POST /api/v1/applications; the API's
// error is shown next to the field it names, with the values entered.

// tools are the ways a source is rendered: auto (soll detects the type
// from the files) or one of the source's tool fields.
var tools = []option{{"auto", "Detect from the files"}, {"directory", "Directory of manifests"}, {"kustomize", "Kustomize"},
	{"helm", "Helm"}, {"jsonnet", "Jsonnet"}, {"plugin", "Plugin"}}

// formField is one input of a form: its id (also its name), what the
// label says, help shown under it, the value entered and the error of
// the API or of the form's own checks.
type formField struct {
	ID, Label, Help, Value, Error string
	// Area makes it a textarea; Secret a password input whose value is
	// never written back into the page.
	Area, Secret bool
	// Required marks the input required for the browser; the server
	// checks it too (or the API does).
	Required bool
	// List names the datalist of suggestions.
	List string
	// Autocomplete is the input's autocomplete hint; empty means off.
	Autocomplete string
}

// newAppFields are the text inputs of the form, in the order they are
// read; the template places them by id.
var newAppFields = []formField{
	{ID: "name", Label: "Name", Help: "Lower-case letters, digits and '-', at most 253 characters.", Required: true},
	{ID: "repoURL", Label: "Repository URL", Help: "A configured repository (the suggestions) or any Git URL, Helm chart repository or oci:// registry.", Required: true, List: "repositories"},
	{ID: "targetRevision", Label: "Target revision", Help: "A branch, tag or commit; empty means HEAD. For a Helm chart: a version or range."},
	{ID: "path", Label: "Path", Help: "The directory in the repository, relative to its root; empty is the root."},
	{ID: "destNamespace", Label: "Namespace", Help: "Where the application's namespaced objects go."},
	{ID: "dirInclude", Label: "Include", Help: "Glob patterns of files to render, one a line (for example *.yaml); empty means all YAML and JSON files.", Area: true},
	{ID: "dirExclude", Label: "Exclude", Help: "Glob patterns of files to skip, one a line.", Area: true},
	{ID: "kustImages", Label: "Images", Help: "One a line, as kustomize edit set image writes them: nginx=ghcr.io/org/nginx:1.27, nginx:1.27 or nginx@sha256:….", Area: true},
	{ID: "kustNamePrefix", Label: "Name prefix", Help: "Prepended to the names of all objects."},
	{ID: "kustNamespace", Label: "Namespace override", Help: "Sets the namespace of all namespaced objects."},
	{ID: "helmChart", Label: "Chart", Help: "The chart's name in a Helm chart repository or OCI registry; leave empty for a chart in Git (then set the path)."},
	{ID: "helmReleaseName", Label: "Release name", Help: "Empty means the application's name."},
	{ID: "helmValueFiles", Label: "Value files", Help: "One a line, relative to the chart directory.", Area: true},
	{ID: "helmValues", Label: "Values", Help: "YAML, as in a values file; it wins over the value files.", Area: true},
	{ID: "helmParameters", Label: "Parameters", Help: "One a line, name=value, as helm --set takes them (image.tag=1.2).", Area: true},
	{ID: "jsonnetTLAs", Label: "Top-level arguments (strings)", Help: "One a line, name=value; the value is passed as a string.", Area: true},
	{ID: "jsonnetTLACode", Label: "Top-level arguments (code)", Help: "One a line, name=value; the value is Jsonnet code ({replicas: 2}).", Area: true},
	{ID: "pluginName", Label: "Plugin", Help: "The name of a plugin configured in soll; empty means the one whose discovery rule matches the path."},
	{ID: "pluginEnv", Label: "Environment", Help: "One a line, NAME=value; a variable reaches the plugin as SOLL_ENV_NAME.", Area: true},
}

// apiFields maps the API's field paths to the form's inputs: an error of
// spec.source.helm.parameters[2].name is shown at helmParameters. The
// longest matching path wins.
var apiFields = map[string]string{
	"metadata.name":                    "name",
	"spec.project":                     "project",
	"spec.source.repoURL":              "repoURL",
	"spec.source.targetRevision":       "targetRevision",
	"spec.source.path":                 "path",
	"spec.source.chart":                "helmChart",
	"spec.source.directory.include":    "dirInclude",
	"spec.source.directory.exclude":    "dirExclude",
	"spec.source.kustomize.images":     "kustImages",
	"spec.source.kustomize.namePrefix": "kustNamePrefix",
	"spec.source.kustomize.namespace":  "kustNamespace",
	"spec.source.helm.releaseName":     "helmReleaseName",
	"spec.source.helm.valueFiles":      "helmValueFiles",
	"spec.source.helm.values":          "helmValues",
	"spec.source.helm.parameters":      "helmParameters",
	"spec.source.jsonnet.tlas":         "jsonnetTLAs",
	"spec.source.plugin.name":          "pluginName",
	"spec.source.plugin.env":           "pluginEnv",
	"spec.destination.server":          "destServer",
	"spec.destination.name":            "destServer",
	"spec.destination.namespace":       "destNamespace",
	// A destination the project does not allow: the namespace, most
	// often; the message names both.
	"spec.destination":          "destNamespace",
	"spec.syncPolicy":           "syncPolicy",
	"spec.syncPolicy.automated": "syncPolicy",
}

// fieldOf finds the input an API error's field belongs to; "" when none
// does.
func fieldOf(apiField string) string {
	best, input := "", ""
	for path, id := range apiFields {
		if len(path) <= len(best) || !strings.HasPrefix(apiField, path) {
			continue
		}
		if rest := apiField[len(path):]; rest == "" || rest[0] == '.' || rest[0] == '[' {
			best, input = path, id
		}
	}
	return input
}

// newAppView is the form: its fields by id, the choices offered and the
// errors of the choices.
type newAppView struct {
	FormToken string
	Fields    map[string]*formField
	// Projects are the projects the user may see; Project the chosen one.
	Projects     []option
	Project      string
	ProjectError string
	// Repositories are the configured repositories' URLs, offered as
	// suggestions for the URL.
	Repositories []string
	Tools        []option
	Tool         string
	// Clusters are the destinations the user may see; DestServer the
	// chosen one.
	Clusters                   []option
	DestServer, DestError      string
	DirRecurse                 bool
	Automated, SelfHeal, Prune bool
	SyncPolicyError            string
	// Error is an error of no field of the form.
	Error string
	// Denied says why the user may not create applications at all.
	Denied string
}

func (u *UI) newAppPage(w http.ResponseWriter, r *http.Request) {
	s := u.requireSession(w, r)
	if s == nil {
		return
	}
	v := u.newAppViewOf(r, s)
	if v == nil {
		u.renderError(w, r, s, http.StatusInternalServerError, "The form could not be shown", "The projects could not be listed; try again, or create the application with soll app create.")
		return
	}
	u.renderNewApp(w, s, http.StatusOK, v)
}

func (u *UI) renderNewApp(w http.ResponseWriter, s *session, status int, v *newAppView) {
	u.render(w, status, pageNewApp, layout{Title: "New application", Crumbs: []crumb{{Label: "Applications", Href: "/applications"}, {Label: "New application"}},
		User: s.p.Subject, LogoutToken: s.formToken, Page: v})
}

// newAppViewOf is the empty form with the choices of s: its projects,
// the configured repositories and the clusters. nil when the projects
// cannot be listed.
func (u *UI) newAppViewOf(r *http.Request, s *session) *newAppView {
	v := &newAppView{FormToken: s.formToken, Fields: map[string]*formField{}, Tools: tools, Tool: "auto", Project: sollproject.DefaultName, DestServer: server.InClusterServer}
	for _, f := range newAppFields {
		v.Fields[f.ID] = &f
	}
	res := u.call(r, s.token, http.MethodGet, "/api/v1/projects", nil)
	var projects apitypes.ProjectList
	if res.status != http.StatusOK || res.decode(&projects) != nil {
		return nil
	}
	// The default project exists without an object until one is made.
	names := []string{sollproject.DefaultName}
	for _, p := range projects.Items {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	mayCreate := false
	for _, name := range slices.Compact(names) {
		v.Projects = append(v.Projects, option{name, name})
		mayCreate = mayCreate || u.opts.RBAC.Allowed(s.p, "applications", "create", name+"/*")
	}
	if !mayCreate {
		v.Denied = "You (" + s.p.Subject + ") may not create applications in any project you may see."
	}
	// The repositories and clusters are suggestions: a user who may not
	// list them still types a URL.
	res = u.call(r, s.token, http.MethodGet, "/api/v1/repositories", nil)
	var repos apitypes.List[apitypes.Repository]
	if res.status == http.StatusOK && res.decode(&repos) == nil {
		for _, rp := range repos.Items {
			if rp.Type != "repo-creds" {
				v.Repositories = append(v.Repositories, rp.URL)
			}
		}
		slices.Sort(v.Repositories)
		v.Repositories = slices.Compact(v.Repositories)
	}
	res = u.call(r, s.token, http.MethodGet, "/api/v1/clusters", nil)
	var clusters apitypes.List[apitypes.Cluster]
	if res.status == http.StatusOK && res.decode(&clusters) == nil {
		for _, c := range clusters.Items {
			v.Clusters = append(v.Clusters, option{c.Server, c.Name + " (" + c.Server + ")"})
		}
	}
	if len(v.Clusters) == 0 {
		v.Clusters = []option{{server.InClusterServer, "in-cluster (" + server.InClusterServer + ")"}}
	}
	return v
}

// createApp reads the form, builds the Application and creates it
// through the API. A line the form cannot read, or the API's refusal,
// shows the form again with the values entered and the error at its
// field; nothing is created then.
func (u *UI) createApp(w http.ResponseWriter, r *http.Request) {
	s := u.checkForm(w, r)
	if s == nil {
		return
	}
	v := u.newAppViewOf(r, s)
	if v == nil {
		u.renderError(w, r, s, http.StatusInternalServerError, "The form could not be shown", "The projects could not be listed; try again.")
		return
	}
	form := r.PostForm
	for id, f := range v.Fields {
		f.Value = strings.TrimSpace(form.Get(id))
		if f.Area {
			f.Value = strings.TrimRight(form.Get(id), " \t\r\n")
		}
	}
	v.Project, v.DestServer = form.Get("project"), form.Get("destServer")
	// The form comes back with the choices made, also one the lists no
	// longer (or not yet) offer: the API's error says what is wrong with it.
	if v.Project != "" && !slices.ContainsFunc(v.Projects, func(o option) bool { return o.Value == v.Project }) {
		v.Projects = append(v.Projects, option{v.Project, v.Project})
	}
	if v.DestServer != "" && !slices.ContainsFunc(v.Clusters, func(o option) bool { return o.Value == v.DestServer }) {
		v.Clusters = append(v.Clusters, option{v.DestServer, v.DestServer})
	}
	v.Tool = form.Get("tool")
	if !slices.ContainsFunc(tools, func(o option) bool { return o.Value == v.Tool }) {
		v.Tool = "auto"
	}
	v.DirRecurse = form.Has("dirRecurse")
	v.Automated, v.SelfHeal, v.Prune = form.Has("automated"), form.Has("selfHeal"), form.Has("prune")
	app, ok := v.application()
	if !ok {
		u.renderNewApp(w, s, http.StatusBadRequest, v)
		return
	}
	body, err := json.Marshal(app)
	if err != nil {
		u.fail(w, r, s, http.StatusInternalServerError, "The application could not be created", err.Error())
		return
	}
	res := u.call(r, s.token, http.MethodPost, "/api/v1/applications", body)
	if res.status == http.StatusCreated {
		http.Redirect(w, r, appHref(app.Name)+"?notice="+noticeCreated, http.StatusSeeOther)
		return
	}
	e := res.apiError()
	switch id := fieldOf(e.Field); {
	case res.status == http.StatusConflict && e.Code == "AlreadyExists":
		v.Fields["name"].Error = "An application named " + app.Name + " exists already: choose another name."
	case id == "project":
		v.ProjectError = e.Message
	case id == "destServer":
		v.DestError = e.Message
	case id == "syncPolicy":
		v.SyncPolicyError = e.Message
	case id != "":
		v.Fields[id].Error = e.Message
	default:
		v.Error = e.Message
	}
	u.renderNewApp(w, s, res.status, v)
}

// application builds the Application of the form; false when a field
// cannot be read, its error then set.
func (v *newAppView) application() (*sollv1.Application, bool) {
	val := func(id string) string { return v.Fields[id].Value }
	src := &sollv1.ApplicationSource{RepoURL: val("repoURL"), TargetRevision: val("targetRevision"), Path: val("path")}
	ok := true
	// pairs reads the name=value lines of a field.
	pairs := func(id string) [][2]string {
		var out [][2]string
		for i, line := range lines(val(id)) {
			name, value, found := strings.Cut(line, "=")
			name = strings.TrimSpace(name)
			if !found || name == "" {
				v.Fields[id].Error = fmt.Sprintf("Line %d, %q, is not name=value.", i+1, line)
				ok = false
				return nil
			}
			out = append(out, [2]string{name, strings.TrimSpace(value)})
		}
		return out
	}
	switch v.Tool {
	case "directory":
		src.Directory = &sollv1.DirectorySource{Recurse: v.DirRecurse, Include: lines(val("dirInclude")), Exclude: lines(val("dirExclude"))}
	case "kustomize":
		k := &sollv1.KustomizeSource{NamePrefix: val("kustNamePrefix"), Namespace: val("kustNamespace")}
		for i, line := range lines(val("kustImages")) {
			img, err := kustomizeImage(line)
			if err != nil {
				v.Fields["kustImages"].Error = fmt.Sprintf("Line %d, %q: %v.", i+1, line, err)
				ok = false
				break
			}
			k.Images = append(k.Images, img)
		}
		src.Kustomize = k
	case "helm":
		h := &sollv1.HelmSource{ReleaseName: val("helmReleaseName"), ValueFiles: lines(val("helmValueFiles")), Values: val("helmValues")}
		for _, p := range pairs("helmParameters") {
			h.Parameters = append(h.Parameters, sollv1.HelmParameter{Name: p[0], Value: p[1]})
		}
		src.Chart = val("helmChart")
		src.Helm = h
	case "jsonnet":
		j := &sollv1.JsonnetSource{}
		for _, p := range pairs("jsonnetTLAs") {
			j.TLAs = append(j.TLAs, sollv1.JsonnetVar{Name: p[0], Value: p[1]})
		}
		for _, p := range pairs("jsonnetTLACode") {
			j.TLAs = append(j.TLAs, sollv1.JsonnetVar{Name: p[0], Value: p[1], Code: true})
		}
		src.Jsonnet = j
	case "plugin":
		pl := &sollv1.PluginSource{Name: val("pluginName")}
		for _, p := range pairs("pluginEnv") {
			pl.Env = append(pl.Env, sollv1.EnvEntry{Name: p[0], Value: p[1]})
		}
		src.Plugin = pl
	}
	if val("name") == "" {
		v.Fields["name"].Error = "Enter a name for the application."
		ok = false
	}
	if !ok {
		return nil, false
	}
	app := &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: val("name")},
		Spec: sollv1.ApplicationSpec{Project: v.Project, Source: src,
			Destination: sollv1.ApplicationDestination{Server: v.DestServer, Namespace: val("destNamespace")}},
	}
	if v.Automated || v.SelfHeal || v.Prune {
		at := &sollv1.AutomatedSyncPolicy{SelfHeal: v.SelfHeal, Prune: v.Prune}
		if !v.Automated {
			// Self-heal and prune kept for when automated sync is
			// turned on, as the app page's policy form does.
			at.Enabled = new(bool)
		}
		app.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: at}
	}
	return app, true
}

// lines are the non-empty lines of a textarea, trimmed.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// kustomizeImage reads an image override as `kustomize edit set image`
// takes it: name=newName[:tag|@digest], or name:tag, or name@digest.
func kustomizeImage(s string) (sollv1.KustomizeImage, error) {
	name, ref, renamed := strings.Cut(s, "=")
	if !renamed {
		ref = s
	}
	image, tag, digest := ref, "", ""
	if i := strings.Index(ref, "@"); i >= 0 {
		image, digest = ref[:i], ref[i+1:]
	} else if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		image, tag = ref[:i], ref[i+1:]
	}
	img := sollv1.KustomizeImage{Name: strings.TrimSpace(name), NewTag: tag, Digest: digest}
	if !renamed {
		img.Name = image
	} else if image != img.Name {
		img.NewName = image
	}
	switch {
	case img.Name == "" || image == "":
		return img, fmt.Errorf("write name=newName:tag, name:tag or name@digest")
	case img.NewName == "" && img.NewTag == "" && img.Digest == "":
		return img, fmt.Errorf("give a new name, a tag (:tag) or a digest (@sha256:…) for %s", img.Name)
	}
	return img, nil
}

// noticeCreated is the notice of an app's page after the form created it.
const noticeCreated = "created"

func init() {
	notices[noticeCreated] = "Application created: soll compares it with Git now; Sync deploys it unless automated sync does."
}
