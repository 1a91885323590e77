package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"soll.dev/internal/apitypes"
)

// repoFields are the inputs of the repository form; their ids are the
// fields of apitypes.RepositoryRequest, which the API's errors name.
// Secret values are never written back into the page.
var repoFields = []formField{
	{ID: "url", Label: "Repository URL", Help: "https://host/path, ssh://host/path, git@host:path, or oci://registry/path. For a credential template: the prefix of the repositories it serves.", Required: true},
	{ID: "name", Label: "Name", Help: "Optional: the name of the Secret soll keeps the credentials in; empty means one derived from the URL."},
	{ID: "project", Label: "Project", Help: "Optional: the one project whose applications may use these credentials. Empty means the default project's, or every project's when shared."},
	{ID: "username", Label: "Username", Help: "With a password or access token."},
	{ID: "password", Label: "Password or access token", Help: "Never written back into a page: after an error, or a test without JavaScript, enter it again.", Secret: true, Autocomplete: "new-password"},
	{ID: "bearerToken", Label: "Bearer token", Help: "Instead of a username and password, for hosts that take one.", Secret: true, Autocomplete: "off"},
	{ID: "sshPrivateKey", Label: "SSH private key", Help: "For ssh:// and git@ URLs, in PEM or OpenSSH format. Never shown again.", Area: true, Secret: true},
	{ID: "sshKnownHosts", Label: "SSH known hosts", Help: "The host's keys as ssh-keyscan prints them; empty means soll's known hosts.", Area: true},
}

// repositoriesView is the repositories page: the list and the form.
type repositoriesView struct {
	Current   string
	FormToken string
	Repos     []repoRow
	Fields    map[string]*formField
	// Type is repository or repo-creds; Shared the shared checkbox.
	Type       string
	Shared     bool
	TypeError  string
	SharedErr  string
	Error      string
	AddDenied  string
	TestResult *apitypes.RepositoryTest
}

// repoRow is a repository of the list, with its remove form.
type repoRow struct {
	apitypes.Repository
	// Credentials names the kinds of secret values held.
	Credentials  string
	RemoveAction string
	RemoveDenied string
}

func (u *UI) repositoriesView(w http.ResponseWriter, r *http.Request, s *session) *repositoriesView {
	var list apitypes.List[apitypes.Repository]
	if !u.getJSON(w, r, s, "/api/v1/repositories", "The repositories", &list) {
		return nil
	}
	v := &repositoriesView{Current: "/settings/repositories", FormToken: s.formToken, Fields: map[string]*formField{}, Type: "repository"}
	for _, f := range repoFields {
		v.Fields[f.ID] = &f
	}
	if !u.opts.RBAC.Allowed(s.p, "repositories", "create", "*") {
		v.AddDenied = "You (" + s.p.Subject + ") may not add repositories."
	}
	for _, rp := range list.Items {
		row := repoRow{Repository: rp, RemoveAction: "/settings/repositories/" + url.PathEscape(rp.Name) + "/remove"}
		var held []string
		for _, c := range []struct {
			has  bool
			what string
		}{{rp.HasPassword, "password"}, {rp.HasBearerToken, "bearer token"}, {rp.HasSSHPrivateKey, "SSH key"}, {rp.HasTLSClientCert, "TLS client certificate"}} {
			if c.has {
				held = append(held, c.what)
			}
		}
		switch {
		case rp.CredentialsSecret != "":
			row.Credentials = "in Secret " + rp.CredentialsSecret
		case len(held) == 0:
			row.Credentials = "none"
		default:
			row.Credentials = strings.Join(held, ", ")
		}
		if !u.opts.RBAC.Allowed(s.p, "repositories", "delete", rp.URL) {
			row.RemoveDenied = "You (" + s.p.Subject + ") may not remove this repository."
		}
		v.Repos = append(v.Repos, row)
	}
	return v
}

func (u *UI) repositoriesPage(w http.ResponseWriter, r *http.Request) {
	s := u.requireSession(w, r)
	if s == nil {
		return
	}
	if v := u.repositoriesView(w, r, s); v != nil {
		u.renderSettings(w, s, http.StatusOK, pageRepositories, "Repositories", notices[r.URL.Query().Get("notice")], v)
	}
}

// addRepository tests (op=test) or adds (op=add) the repository of the
// form through the API. The page's script sends a test with Accept:
// application/json and gets the result as JSON, keeping what was typed.
func (u *UI) addRepository(w http.ResponseWriter, r *http.Request) {
	s := u.checkForm(w, r)
	if s == nil {
		return
	}
	form := r.PostForm
	req := apitypes.RepositoryRequest{Type: form.Get("type"), Shared: form.Has("shared")}
	for id, p := range map[string]*string{"url": &req.URL, "name": &req.Name, "project": &req.Project, "username": &req.Username,
		"password": &req.Password, "bearerToken": &req.BearerToken, "sshPrivateKey": &req.SSHPrivateKey, "sshKnownHosts": &req.SSHKnownHosts} {
		*p = form.Get(id)
		if id != "sshPrivateKey" && id != "sshKnownHosts" {
			*p = strings.TrimSpace(*p)
		}
	}
	body, _ := json.Marshal(req)
	test := form.Get("op") == "test"
	target, want := "/api/v1/repositories", http.StatusCreated
	if test {
		target, want = "/api/v1/repositories/test", http.StatusOK
	}
	res := u.call(r, s.token, http.MethodPost, target, body)
	if res.status == want && !test {
		http.Redirect(w, r, "/settings/repositories?notice="+noticeRepoAdded, http.StatusSeeOther)
		return
	}
	var result apitypes.RepositoryTest
	if res.status == want && res.decode(&result) != nil {
		res.status = http.StatusInternalServerError
	}
	if wantsJSON(r) {
		if res.status != want {
			e := res.apiError()
			writeJSON(w, res.status, map[string]string{"error": e.Message, "field": e.Field})
			return
		}
		writeJSON(w, http.StatusOK, result)
		return
	}
	v := u.repositoriesView(w, r, s)
	if v == nil {
		return
	}
	for id, f := range v.Fields {
		f.Value = form.Get(id)
	}
	v.Type, v.Shared = req.Type, req.Shared
	if res.status == want {
		v.TestResult = &result
		u.renderSettings(w, s, http.StatusOK, pageRepositories, "Repositories", "", v)
		return
	}
	e := res.apiError()
	switch f, ok := v.Fields[e.Field]; {
	case ok:
		f.Error = e.Message
	case e.Field == "type":
		v.TypeError = e.Message
	case e.Field == "shared":
		v.SharedErr = e.Message
	default:
		v.Error = e.Message
	}
	u.renderSettings(w, s, res.status, pageRepositories, "Repositories", "", v)
}

// removeRepository deletes a repository Secret; the form's confirm box
// must be ticked.
func (u *UI) removeRepository(w http.ResponseWriter, r *http.Request) {
	s := u.checkForm(w, r)
	if s == nil {
		return
	}
	name := r.PathValue("name")
	if r.PostForm.Get("confirm") != name {
		u.fail(w, r, s, http.StatusBadRequest, "Nothing was removed", "Tick the box that confirms the removal of "+name+", then click Remove again.")
		return
	}
	res := u.call(r, s.token, http.MethodDelete, "/api/v1/repositories/"+url.PathEscape(name), nil)
	if res.status != http.StatusNoContent {
		u.fail(w, r, s, res.status, "The repository was not removed", res.apiError().Message)
		return
	}
	http.Redirect(w, r, "/settings/repositories?notice="+noticeRepoRemoved, http.StatusSeeOther)
}

const (
	noticeRepoAdded   = "repo-added"
	noticeRepoRemoved = "repo-removed"
)

func init() {
	notices[noticeRepoAdded] = "Repository added: applications of its project use its credentials from now on."
	notices[noticeRepoRemoved] = "Repository removed: soll no longer uses its credentials."
}
