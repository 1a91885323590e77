package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
)

// watchApps records every version of the Applications in ns that the API
// server stores from now on, until the test ends.
func watchApps(t *testing.T, h *harness) func(name, untilRV string) []sollv1.Application {
	t.Helper()
	wc, err := client.NewWithWatch(h.env.Config, client.Options{Scheme: h.env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w, err := wc.Watch(ctx, &sollv1.ApplicationList{}, client.InNamespace(h.sollNS))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	// versions returns the versions of app name seen up to resource
	// version untilRV, reading the watch until it has delivered it.
	var seen []sollv1.Application
	return func(name, untilRV string) []sollv1.Application {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			for _, a := range seen {
				if a.Name == name && a.ResourceVersion == untilRV {
					var out []sollv1.Application
					for _, b := range seen {
						if b.Name == name {
							out = append(out, b)
						}
					}
					return out
				}
			}
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					t.Fatal("watch of Applications ended")
				}
				if ev.Type == watch.Added || ev.Type == watch.Modified {
					seen = append(seen, *ev.Object.(*sollv1.Application))
				}
			case <-deadline:
				t.Fatalf("watch did not deliver %s at resourceVersion %s", name, untilRV)
			}
		}
	}
}

func phases(versions []sollv1.Application) []string {
	var out []string
	for _, a := range versions {
		p := "-"
		if st := a.Status.OperationState; st != nil {
			p = string(st.Phase)
		}
		if a.Status.Sync != nil {
			p += "/" + string(a.Status.Sync.Status)
		}
		out = append(out, p)
	}
	return out
}

// TestQuietAutomatedSync: an automated sync that ends within
// QuietOperation is written once, its end together with the comparison
// that follows it; one that lasts longer shows as Running meanwhile.
func TestQuietAutomatedSync(t *testing.T) {
	t.Run("short", func(t *testing.T) {
		h := newHarnessWith(t, harnessOptions{
			files:          map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: quiet}\ndata: {k: v}\n"},
			quietOperation: time.Hour,
		})
		versions := watchApps(t, h)
		h.createAppNamed("quiet", "app", func(a *sollv1.Application) {
			a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
		})
		synced := h.waitForApp("quiet", "Synced and Healthy", time.Minute, syncedHealthy)
		got := phases(versions("quiet", synced.ResourceVersion))
		// The creation, then one status write: the operation's end and
		// the comparison after it.
		if want := []string{"-", "Succeeded/Synced"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("versions of the app (operation phase/sync status): %q, want %q", got, want)
		}
	})
	t.Run("long", func(t *testing.T) {
		files := map[string]string{}
		for i := range 8 {
			files[fmt.Sprintf("app/cm-%d.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: slow-%d}\ndata: {k: v}\n", i)
		}
		// At 3 requests a second, the one step's 8 applies take more
		// than 2 s: far longer than QuietOperation.
		h := newHarnessWith(t, harnessOptions{files: files, clientQPS: 3, quietOperation: 100 * time.Millisecond})
		versions := watchApps(t, h)
		h.createAppNamed("slow", "app", func(a *sollv1.Application) {
			a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
		})
		synced := h.waitForApp("slow", "Synced and Healthy", 2*time.Minute, syncedHealthy)
		got := phases(versions("slow", synced.ResourceVersion))
		if want := []string{"-", "Running", "Succeeded/Synced"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("versions of the app (operation phase/sync status): %q, want %q", got, want)
		}
	})
}
