package helm_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/helm"
	"soll.dev/internal/render/helm/helmtest"
	"soll.dev/internal/source"
)

// appChart packages chart "app" at version, rendering a ConfigMap that
// tells its version.
func appChart(t *testing.T, version string) []byte {
	data, _ := helmtest.PackageChart(t, map[string]string{
		"Chart.yaml":        chartYAML("app", version),
		"values-extra.yaml": "extra: from-chart-file\n",
		"templates/cm.yaml": configMap("app", "version", `"{{ .Chart.Version }}"`) + "  extra: {{ .Values.extra | default \"none\" }}\n",
	})
	return data
}

func TestHTTPRepository(t *testing.T) {
	t.Parallel()
	repo := helmtest.NewRepo(t, true, appChart(t, "1.0.0"), appChart(t, "1.4.2"), appChart(t, "2.0.0"), appChart(t, "1.5.0-rc.1"))
	repo.User, repo.Password = "ci", "s3cret"
	creds := source.Credentials{Username: "ci", Password: "s3cret", CACert: helmtest.CAPEM(repo.Server)}
	r := &helm.Renderer{}
	versionOf := func(t *testing.T, version string, creds source.Credentials) (string, error) {
		t.Helper()
		res, err := r.Render(context.Background(), render.Request{
			Chart: &render.ChartRef{RepoURL: repo.URL, Chart: "app", Version: version, Credentials: creds},
			App:   render.AppInfo{Name: "app"},
		})
		if err != nil {
			return "", err
		}
		if diff := cmp.Diff([]string{"ConfigMap/app app/templates/cm.yaml"}, summary(res)); diff != "" {
			t.Errorf("objects (-want +got):\n%s", diff)
		}
		return get(res.Objects[0].Unstructured.Object, "data", "version").(string), nil
	}
	for version, want := range map[string]string{"": "2.0.0", "^1.0.0": "1.4.2", "~1.0": "1.0.0", "1.4.2": "1.4.2", ">=1.0.0 <2.0.0": "1.4.2"} {
		got, err := versionOf(t, version, creds)
		if err != nil {
			t.Errorf("version %q: %v", version, err)
			continue
		}
		if got != want {
			t.Errorf("version %q resolved to %s, want %s", version, got, want)
		}
	}

	wrong := creds
	wrong.Password = "guess"
	if _, err := versionOf(t, "^1.0.0", wrong); err == nil || !strings.Contains(err.Error(), "refused the credentials") {
		t.Errorf("wrong password: error %v, want one saying the credentials were refused", err)
	} else if strings.Contains(err.Error(), "guess") {
		t.Errorf("error %q quotes the password", err)
	}
	none := source.Credentials{CACert: helmtest.CAPEM(repo.Server)}
	if _, err := versionOf(t, "^1.0.0", none); err == nil || !strings.Contains(err.Error(), "needs credentials") {
		t.Errorf("no credentials: error %v, want one saying credentials are needed", err)
	}
	if _, err := versionOf(t, "^3.0.0", creds); err == nil || !strings.Contains(err.Error(), "no version of chart") {
		t.Errorf("no matching version: error %v", err)
	}
	if _, err := versionOf(t, "1.0.0", source.Credentials{Username: "ci", Password: "s3cret"}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted server: error %v, want a certificate error", err)
	}

	t.Run("value file from the chart", func(t *testing.T) {
		res, err := r.Render(context.Background(), render.Request{
			Chart: &render.ChartRef{RepoURL: repo.URL, Chart: "app", Version: "1.4.2", Credentials: creds},
			App:   render.AppInfo{Name: "app"},
			Helm:  &sollv1.HelmSource{ValueFiles: []string{"values-extra.yaml"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := get(res.Objects[0].Unstructured.Object, "data", "extra"); got != "from-chart-file" {
			t.Errorf("extra = %v", got)
		}
	})
}

func TestCredentialsStayOnTheRepositoryHost(t *testing.T) {
	t.Parallel()
	var leaked bool
	charts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "" {
			leaked = true
		}
		_, _ = w.Write(appChart(t, "1.0.0"))
	}))
	defer charts.Close()
	index := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = w.Write([]byte("apiVersion: v1\nentries:\n  app:\n    - apiVersion: v2\n      name: app\n      version: 1.0.0\n      urls: [" + charts.URL + "/app-1.0.0.tgz]\n"))
	}))
	defer index.Close()
	_, err := (&helm.Renderer{}).Render(context.Background(), render.Request{
		Chart: &render.ChartRef{RepoURL: index.URL, Chart: "app", Credentials: source.Credentials{BearerToken: "tok", CACert: helmtest.CAPEM(index)}},
		App:   render.AppInfo{Name: "app"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if leaked {
		t.Error("credentials were sent to the host serving the archive")
	}
}

func TestOCIRegistry(t *testing.T) {
	t.Parallel()
	reg := helmtest.NewRegistry(t, "robot", "pw")
	for _, v := range []string{"0.9.0", "1.2.0", "1.3.1"} {
		reg.Push(t, "charts", appChart(t, v))
	}
	host, srv := reg.Host, reg.Server
	r := &helm.Renderer{}
	ref := &render.ChartRef{RepoURL: "oci://" + host + "/charts", Chart: "app", Version: "~1.2", Credentials: source.Credentials{Username: "robot", Password: "pw", CACert: helmtest.CAPEM(srv)}}
	res, err := r.Render(context.Background(), render.Request{Chart: ref, App: render.AppInfo{Name: "app"}})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if got := get(res.Objects[0].Unstructured.Object, "data", "version"); got != "1.2.0" {
		t.Errorf("version = %v, want 1.2.0", got)
	}
	exact := *ref
	exact.Version = "1.3.1"
	if _, err := r.Render(context.Background(), render.Request{Chart: &exact, App: render.AppInfo{Name: "app"}}); err != nil {
		t.Errorf("exact version: %v", err)
	}
	wrong := *ref
	wrong.Version = "0.9.0" // not cached yet
	wrong.Credentials.Password = "nope"
	_, err = r.Render(context.Background(), render.Request{Chart: &wrong, App: render.AppInfo{Name: "app"}})
	if err == nil {
		t.Fatal("wrong password: no error")
	}
	if strings.Contains(err.Error(), "nope") {
		t.Errorf("error %q quotes the password", err)
	}
	t.Logf("wrong password: %v", err)
}

// TestRepositoryUnderAPath fetches a chart whose index gives a relative
// URL, from a repository whose URL has a path and no final slash: the
// URL is relative to the repository's directory, as in helm.
func TestRepositoryUnderAPath(t *testing.T) {
	t.Parallel()
	archive, _ := helmtest.PackageChart(t, map[string]string{"Chart.yaml": chartYAML("demo", "0.1.0")})
	srv := serveChart(t, "/charts", archive)
	_, err := (&helm.Renderer{}).Render(context.Background(), render.Request{
		Chart: &render.ChartRef{RepoURL: srv.URL + "/charts", Chart: "demo", Version: "0.1.0"},
		App:   render.AppInfo{Name: "demo"},
	})
	if err != nil {
		t.Fatal(err)
	}
}
