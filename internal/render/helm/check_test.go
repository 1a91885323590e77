package helm_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"soll.dev/internal/render/helm"
	"soll.dev/internal/render/helm/helmtest"
	"soll.dev/internal/source"
)

// checkPassword is the password of the test servers; no check's answer
// may show it, nor the wrong one.
const checkPassword, wrongPassword = "chart-s3cret-9e1a", "wrong-guess-77b0"

// checkCase is one CheckRepository call and what it must answer.
type checkCase struct {
	name  string
	url   string
	creds source.Credentials
	want  string // in the answer or the error
	kind  error  // the error's kind (errors.Is); nil for any error
	fails bool
}

func runChecks(t *testing.T, tests []checkCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := helm.CheckRepository(context.Background(), tt.url, tt.creds, 10*time.Second)
			text := got
			if err != nil {
				text = err.Error()
			}
			switch {
			case tt.fails && err == nil:
				t.Fatalf("check passed: %q", got)
			case !tt.fails && err != nil:
				t.Fatalf("check failed: %v", err)
			case tt.kind != nil && !errors.Is(err, tt.kind):
				t.Errorf("error %v is not %v", err, tt.kind)
			}
			if !strings.Contains(text, tt.want) {
				t.Errorf("answer %q, want it to hold %q", text, tt.want)
			}
			if strings.Contains(text, checkPassword) || strings.Contains(text, wrongPassword) {
				t.Errorf("answer %q shows a password", text)
			}
			t.Logf("%s", text)
		})
	}
}

func TestCheckHelmRepository(t *testing.T) {
	t.Parallel()
	web, _ := helmtest.PackageChart(t, map[string]string{"Chart.yaml": chartYAML("web", "0.3.0")})
	repo := helmtest.NewRepo(t, true, appChart(t, "1.0.0"), appChart(t, "1.1.0"), web)
	repo.User, repo.Password = "ci", checkPassword
	ca := helmtest.CAPEM(repo.Server)
	plain := helmtest.NewRepo(t, false, web)
	notIndex := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<html><body>Welcome</body></html>\n"))
	}))
	t.Cleanup(notIndex.Close)

	runChecks(t, []checkCase{
		{name: "basic auth and CA", url: repo.URL, creds: source.Credentials{Username: "ci", Password: checkPassword, CACert: ca},
			want: "Helm repository with 2 charts"},
		{name: "final slash", url: repo.URL + "/", creds: source.Credentials{Username: "ci", Password: checkPassword, CACert: ca},
			want: "Helm repository with 2 charts"},
		{name: "wrong password", url: repo.URL, creds: source.Credentials{Username: "ci", Password: wrongPassword, CACert: ca},
			fails: true, kind: source.ErrAuthentication, want: "401 Unauthorized: the repository refused the credentials; check the repository secret"},
		{name: "no credentials", url: repo.URL, creds: source.Credentials{CACert: ca},
			fails: true, kind: source.ErrAuthentication, want: "the repository needs credentials"},
		{name: "untrusted certificate", url: repo.URL, creds: source.Credentials{Username: "ci", Password: checkPassword},
			fails: true, want: "certificate"},
		{name: "wrong path", url: repo.URL + "/stable", creds: source.Credentials{Username: "ci", Password: checkPassword, CACert: ca},
			fails: true, kind: source.ErrRepositoryNotFound, want: "no Helm repository at " + repo.URL + "/stable"},
		{name: "plain HTTP without credentials", url: plain.URL, want: "Helm repository with 1 chart"},
		{name: "plain HTTP with credentials", url: plain.URL, creds: source.Credentials{Username: "ci", Password: checkPassword},
			fails: true, want: "credentials are only sent over https://"},
		{name: "not an index", url: notIndex.URL, fails: true, want: "repository index.yaml is not a valid index"},
	})
}

func TestCheckOCIRegistry(t *testing.T) {
	t.Parallel()
	reg := helmtest.NewRegistry(t, "robot", checkPassword)
	db, _ := helmtest.PackageChart(t, map[string]string{"Chart.yaml": chartYAML("db", "2.0.0")})
	web, _ := helmtest.PackageChart(t, map[string]string{"Chart.yaml": chartYAML("web", "0.1.0")})
	reg.Push(t, "charts", appChart(t, "1.0.0"))
	reg.Push(t, "charts", appChart(t, "1.1.0"))
	reg.Push(t, "charts/tools", db)
	reg.Push(t, "other", web)
	ca := helmtest.CAPEM(reg.Server)
	good := source.Credentials{Username: "robot", Password: checkPassword, CACert: ca}
	wrong := source.Credentials{Username: "robot", Password: wrongPassword, CACert: ca}
	base := "oci://" + reg.Host

	runChecks(t, []checkCase{
		{name: "good credentials", url: base + "/charts", creds: good,
			want: "OCI registry " + reg.Host + " accepted the credentials; 2 repositories under charts/: app, tools/db"},
		{name: "registry root", url: base, creds: good, want: "3 repositories under the registry's root"},
		{name: "wrong password", url: base + "/charts", creds: wrong,
			fails: true, kind: source.ErrAuthentication, want: "log in to registry " + reg.Host + ": the registry refused the request (check the repository secret)"},
		{name: "no credentials", url: base + "/charts", creds: source.Credentials{CACert: ca},
			fails: true, kind: source.ErrAuthentication, want: "the registry needs a username and password; check the repository secret"},
		{name: "bearer token instead of the password", url: base + "/charts", creds: source.Credentials{BearerToken: checkPassword, CACert: ca},
			fails: true, kind: source.ErrAuthentication, want: "the registry needs a username and password; check the repository secret"},
		{name: "untrusted certificate", url: base + "/charts", creds: source.Credentials{Username: "robot", Password: checkPassword},
			fails: true, want: "certificate"},
		{name: "wrong path", url: base + "/chart", creds: good,
			fails: true, kind: source.ErrRepositoryNotFound, want: "accepted the credentials; but it holds no repository under chart/ that these credentials can see: check the URL"},
		{name: "URL of a chart", url: base + "/charts/app", creds: good,
			fails: true, kind: source.ErrRepositoryNotFound, want: "is a chart, not the repository holding charts: give the URL " + base + "/charts and the chart name app"},
	})

	// Without a catalog only the credentials can be checked, and the
	// answer says so.
	reg.HideCatalog()
	runChecks(t, []checkCase{
		{name: "no catalog", url: base + "/elsewhere", creds: good,
			want: "accepted the credentials; it does not list its repositories to these credentials, so the path elsewhere/ is not checked"},
		{name: "no catalog, wrong password", url: base + "/charts", creds: wrong, fails: true, kind: source.ErrAuthentication, want: "refused"},
	})
}

// TestCheckTimeout checks against a server that never answers: the check
// ends at its timeout and says so.
func TestCheckTimeout(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
		select {
		case <-stop:
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	start := time.Now()
	_, err := helm.CheckRepository(context.Background(), srv.URL, source.Credentials{}, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no answer within 300ms: check that the host is reachable from soll") {
		t.Errorf("error %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the check took %s", d)
	}
}
