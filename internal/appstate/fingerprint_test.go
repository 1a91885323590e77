package appstate

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	sollv1 "soll.dev/api/v1alpha1"
)

// comparedApp is an app as a comparison left it: the fingerprint reads its
// identity, version and inventory (hooks are not compared).
func comparedApp() *sollv1.Application {
	return &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: "soll", Name: "a", UID: "u1", ResourceVersion: "7", Generation: 2},
		Status: sollv1.ApplicationStatus{Resources: []sollv1.ResourceStatus{
			{Version: "v1", Kind: "ConfigMap", Namespace: "dest", Name: "cm"},
			{Group: "batch", Version: "v1", Kind: "Job", Namespace: "dest", Name: "hook", Hook: true},
		}},
	}
}

// TestFingerprintNamesEveryInput: a comparison is only skipped when the
// fingerprint is equal, so every input must change it.
func TestFingerprintNamesEveryInput(t *testing.T) {
	versions := map[string]string{"ConfigMap/dest/cm": "100"}
	base := func() fingerprintInputs {
		return fingerprintInputs{
			project: "p/1", settings: "s/1", sops: "k/1", cluster: "v1.37.2/40", revisions: []string{"aaaa"},
			liveVersion: func(gvk schema.GroupVersionKind, ns, name string) (string, bool) {
				v, ok := versions[gvk.Kind+"/"+ns+"/"+name]
				return v, ok
			},
		}
	}
	want, ok := fingerprint(comparedApp(), base())
	if !ok {
		t.Fatal("fingerprint of an app whose objects are all watched: not ok")
	}
	if again, _ := fingerprint(comparedApp(), base()); again != want {
		t.Fatal("fingerprint is not deterministic")
	}
	changes := map[string]func(*sollv1.Application, *fingerprintInputs){
		"app version":   func(a *sollv1.Application, _ *fingerprintInputs) { a.ResourceVersion = "8" },
		"app uid":       func(a *sollv1.Application, _ *fingerprintInputs) { a.UID = "u2" },
		"project":       func(_ *sollv1.Application, in *fingerprintInputs) { in.project = "p/2" },
		"settings":      func(_ *sollv1.Application, in *fingerprintInputs) { in.settings = "s/2" },
		"sops keys":     func(_ *sollv1.Application, in *fingerprintInputs) { in.sops = "k/2" },
		"cluster":       func(_ *sollv1.Application, in *fingerprintInputs) { in.cluster = "v1.37.2/41" },
		"commit":        func(_ *sollv1.Application, in *fingerprintInputs) { in.revisions = []string{"bbbb"} },
		"second source": func(_ *sollv1.Application, in *fingerprintInputs) { in.revisions = append(in.revisions, "cccc") },
		"live object": func(_ *sollv1.Application, in *fingerprintInputs) {
			in.liveVersion = func(schema.GroupVersionKind, string, string) (string, bool) { return "101", true }
		},
		"inventory": func(a *sollv1.Application, _ *fingerprintInputs) {
			a.Status.Resources = append(a.Status.Resources, sollv1.ResourceStatus{Version: "v1", Kind: "ConfigMap", Namespace: "dest", Name: "cm"})
		},
	}
	for name, change := range changes {
		app, in := comparedApp(), base()
		change(app, &in)
		if got, ok := fingerprint(app, in); ok && got == want {
			t.Errorf("a change of the %s leaves the fingerprint equal", name)
		}
	}
	// A managed object missing from the watch: no fingerprint at all.
	in := base()
	in.liveVersion = func(schema.GroupVersionKind, string, string) (string, bool) { return "", false }
	if _, ok := fingerprint(comparedApp(), in); ok {
		t.Error("fingerprint with an object the watch does not hold: ok")
	}
}
