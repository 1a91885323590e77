package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sollv1 "soll.dev/api/v1alpha1"
)

const ns = "soll"

func newScheme(t testing.TB) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := sollv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func app(name string, sources ...sollv1.ApplicationSource) *sollv1.Application {
	a := &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sollv1.ApplicationSpec{
			Destination: sollv1.ApplicationDestination{Server: "https://kubernetes.default.svc"},
		},
	}
	if len(sources) == 1 {
		a.Spec.Source = &sources[0]
	} else {
		a.Spec.Sources = sources
	}
	return a
}

func src(repo, rev string) sollv1.ApplicationSource {
	return sollv1.ApplicationSource{RepoURL: repo, TargetRevision: rev, Path: "."}
}

// refreshed returns the names of the Applications with a pending refresh
// and the mode of each.
func refreshed(t *testing.T, c client.Client) map[string]string {
	t.Helper()
	var list sollv1.ApplicationList
	if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range list.Items {
		if mode, ok := a.Annotations[sollv1.RefreshAnnotation]; ok {
			out[a.Name] = mode
		}
	}
	return out
}

var mainPush = Push{
	Provider:      GitHub,
	RepoURLs:      []string{"https://github.com/acme/deploy-config.git", "git@github.com:acme/deploy-config.git", "https://github.com/acme/deploy-config"},
	Ref:           "refs/heads/main",
	Branch:        "main",
	After:         "2d3c6a1e0b9f4c8d7e6f5a4b3c2d1e0f9a8b7c6d",
	DefaultBranch: "main",
}

func TestRefreshAppsAnnotatesExactlyTheMatchingApps(t *testing.T) {
	suspended := app("suspended", src("https://github.com/acme/deploy-config", "main"))
	suspended.Spec.Suspend = true
	hardPending := app("hard-pending", src("https://github.com/acme/deploy-config", "main"))
	hardPending.Annotations = map[string]string{sollv1.RefreshAnnotation: "hard"}
	chart := app("chart-same-url", sollv1.ApplicationSource{RepoURL: "https://github.com/acme/deploy-config", Chart: "web", TargetRevision: "main"})
	other := app("other-namespace", src("https://github.com/acme/deploy-config", "main"))
	other.Namespace = "elsewhere"

	c := fake.NewClientBuilder().WithScheme(newScheme(t)).WithObjects(
		app("https-main", src("https://github.com/acme/deploy-config.git", "main")),
		app("ssh-head", src("git@github.com:acme/deploy-config.git", "HEAD")),
		app("ssh-url-default", src("ssh://git@github.com:22/acme/deploy-config", "")),
		app("multi-source", src("https://github.com/acme/charts", "main"), src("https://github.com/acme/deploy-config", "refs/heads/main")),
		app("other-branch", src("https://github.com/acme/deploy-config", "develop")),
		app("pinned-sha", src("https://github.com/acme/deploy-config", "2d3c6a1e0b9f4c8d7e6f5a4b3c2d1e0f9a8b7c6d")),
		app("tag", src("https://github.com/acme/deploy-config", "v1.0.0")),
		app("other-repo", src("https://github.com/acme/other", "main")),
		suspended, hardPending, chart, other,
	).Build()

	n, err := RefreshApps(context.Background(), c, ns, mainPush)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"https-main":      "normal",
		"ssh-head":        "normal",
		"ssh-url-default": "normal",
		"multi-source":    "normal",
		"hard-pending":    "hard", // counted, not weakened
	}
	got := refreshed(t, c)
	if len(got) != len(want) || !equalMaps(got, want) {
		t.Errorf("refreshed %v, want %v", got, want)
	}
	if n != len(want) {
		t.Errorf("RefreshApps = %d, want %d", n, len(want))
	}
	// Every app of the push carries the push's token, a second push
	// another one, so the controller lists once per push, not per app.
	first := pushTokens(t, c)
	if len(first) != 1 {
		t.Fatalf("push tokens after one push: %v, want one token shared by the %d apps", first, len(want))
	}
	if _, err := RefreshApps(context.Background(), c, ns, mainPush); err != nil {
		t.Fatal(err)
	}
	second := pushTokens(t, c)
	if len(second) != 1 || second[0] == first[0] {
		t.Errorf("push tokens after a second push: %v, want one token other than %v", second, first)
	}
	if got := refreshed(t, c)["hard-pending"]; got != "hard" {
		t.Errorf("pending hard refresh is %q after another push, want hard", got)
	}
}

// pushTokens returns the distinct push tokens of the apps with a pending
// refresh.
func pushTokens(t *testing.T, c client.Client) []string {
	t.Helper()
	var list sollv1.ApplicationList
	if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range list.Items {
		if _, ok := a.Annotations[sollv1.RefreshAnnotation]; !ok {
			continue
		}
		tok := a.Annotations[sollv1.RefreshPushAnnotation]
		if !seen[tok] {
			seen[tok] = true
			out = append(out, tok)
		}
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return len(a) == len(b)
}

func TestRefreshAppsReportsErrors(t *testing.T) {
	s := newScheme(t)
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(
		app("a", src("https://github.com/acme/deploy-config", "main")),
		app("b", src("https://github.com/acme/deploy-config", "main")),
	).WithInterceptorFuncs(interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if obj.GetName() == "a" {
				return errors.New("conflict")
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
	}).Build()
	n, err := RefreshApps(context.Background(), c, ns, mainPush)
	if err == nil || n != 1 {
		t.Errorf("RefreshApps = %d, %v; want 1 and an error naming soll/a", n, err)
	}
	if got := refreshed(t, c); !equalMaps(got, map[string]string{"b": "normal"}) {
		t.Errorf("refreshed %v, want only b", got)
	}

	failing := fake.NewClientBuilder().WithScheme(s).WithInterceptorFuncs(interceptor.Funcs{
		List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
			return errors.New("cache not synced")
		},
	}).Build()
	if _, err := RefreshApps(context.Background(), failing, ns, mainPush); err == nil {
		t.Error("a failed list is not reported")
	}
}

// TestHandlerLatencyWithThousandApps measures a push through the Handler to
// RefreshApps over 1,000 Applications, 10 of them matching. The list is
// served the way the manager's cache serves it, as deep copies of objects
// in memory; the fake client's own List encodes every object to JSON and
// back, which costs 30 to 250 ms for 1,000 Applications on a busy machine
// and would measure the fake rather than the handler. Patches go to the
// fake client.
func TestHandlerLatencyWithThousandApps(t *testing.T) {
	var cached sollv1.ApplicationList
	var objs []client.Object
	for i := range 1000 {
		repo := fmt.Sprintf("https://github.com/acme/service-%d", i)
		if i%100 == 0 {
			repo = "git@github.com:acme/deploy-config.git"
		}
		a := app(fmt.Sprintf("app-%04d", i), src(repo, "main"), src("https://charts.example.com", "1.x"))
		objs = append(objs, a)
		cached.Items = append(cached.Items, *a.DeepCopy())
	}
	c := fake.NewClientBuilder().WithScheme(newScheme(t)).WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		List: func(_ context.Context, _ client.WithWatch, list client.ObjectList, _ ...client.ListOption) error {
			cached.DeepCopyInto(list.(*sollv1.ApplicationList))
			return nil
		},
	}).Build()
	h := &Handler{Config: testConfig, Log: quiet, OnPush: func(ctx context.Context, p Push) (int, error) {
		return RefreshApps(ctx, c, ns, p)
	}}
	s := senders[0]
	body := readTestdata(t, s.file)

	const runs = 7
	var times []time.Duration
	for range runs {
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, s.newRequest(s.push, body, testConfig.GitHubSecret))
		times = append(times, time.Since(start))
		if w.Code != http.StatusOK || decodeBody(t, w.Body.Bytes())["matched"] != float64(10) {
			t.Fatalf("status %d %s, want 200 and 10 matched", w.Code, w.Body)
		}
	}
	for i := 0; i < 1000; i += 100 {
		var a sollv1.Application
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("app-%04d", i)}, &a); err != nil {
			t.Fatal(err)
		}
		if a.Annotations[sollv1.RefreshAnnotation] != "normal" {
			t.Errorf("%s not annotated", a.Name)
		}
	}
	slices.Sort(times)
	t.Logf("1,000 apps, 10 matching and patched: median %s, min %s, max %s", times[runs/2], times[0], times[runs-1])
	// The median, since other tests share the CPUs.
	if times[runs/2] > 100*time.Millisecond {
		t.Errorf("median %s, want under 100ms", times[runs/2])
	}
}
