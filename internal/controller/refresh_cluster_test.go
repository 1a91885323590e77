package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv/gitserver"
	"soll.dev/internal/webhook"
)

// TestPushesWithinTheRefreshWindowAreNotLost pushes twice to one
// repository within the controller's refresh coalescing window, each push
// followed by its webhook's refresh requests for every app of the
// repository. Periodic refreshes are an hour apart, so only the refresh
// requests can make the apps see the commits: each must be picked up, and
// the ref listings they cost stay bounded (one per push or window, not one
// per app).
func TestPushesWithinTheRefreshWindowAreNotLost(t *testing.T) {
	const apps = 4
	files := map[string]string{}
	for i := range apps {
		files[fmt.Sprintf("app%d/cm.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm%d\ndata:\n  v: \"1\"\n", i)
	}
	// A window far longer than the steps below take, so the second push
	// surely lands inside it, whatever the machine's load.
	const window = 8 * time.Second
	h := newHarnessWith(t, harnessOptions{files: files, refreshInterval: time.Hour, refreshCoalesce: window})
	names := make([]string, apps)
	for i := range apps {
		names[i] = fmt.Sprintf("app%d", i)
		h.createAppNamed(names[i], names[i], nil)
	}
	first := h.git.Head(t, h.repo, gitserver.DefaultBranch)
	for _, n := range names {
		h.waitForApp(n, "the first commit compared", time.Minute, atRevision(first))
	}

	push := func(v string) string {
		sha := h.git.WriteFiles(t, h.repo, gitserver.DefaultBranch, "v"+v, map[string]string{"app0/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm0\ndata:\n  v: \"" + v + "\"\n"})
		p := webhook.Push{Provider: "github", RepoURLs: []string{h.git.HTTPURL(h.repo)}, Ref: "refs/heads/" + gitserver.DefaultBranch, Branch: gitserver.DefaultBranch, After: sha}
		n, err := webhook.RefreshApps(context.Background(), h.env.Client, h.sollNS, p)
		if err != nil || n != apps {
			t.Fatalf("refresh for push %s: %d apps, %v; want %d", v, n, err, apps)
		}
		return sha
	}
	before := h.git.RefListings(h.repo)
	start := time.Now()
	second := push("2")
	for _, n := range names {
		h.waitForApp(n, "the second commit after its webhook", time.Minute, atRevision(second))
	}
	third := push("3")
	if since := time.Since(start); since >= window {
		t.Logf("the second push came %v after the first, outside the window of %v: the test proves less than it should", since, window)
	}
	for _, n := range names {
		h.waitForApp(n, "the third commit after its webhook, within the window of the second", time.Minute, atRevision(third))
	}
	// Each new commit costs a ref listing and a fetch, which starts with
	// one more; a listing per app would be 8 and more.
	got := h.git.RefListings(h.repo) - before
	t.Logf("2 pushes to %d apps: %d ref advertisements served, all apps at the third commit %v after the first push", apps, got, time.Since(start).Round(time.Millisecond))
	if got < 2 || got > 5 {
		t.Errorf("%d ref advertisements for 2 pushes to %d apps, want 2 to 5", got, apps)
	}
}

func atRevision(sha string) func(*sollv1.Application) bool {
	return func(a *sollv1.Application) bool {
		return a.Status.Sync != nil && a.Status.Sync.Revision == sha
	}
}
