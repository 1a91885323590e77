package sync_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"soll.dev/internal/diff"
	"soll.dev/internal/kube"
	syncengine "soll.dev/internal/sync"
	"soll.dev/internal/testenv"
)

// TestFailOnConflictsAgainstCluster: with FailOnConflicts, a field that
// another manager set to another value fails the object's apply, dry run
// included, with the API server's conflict turned into a message naming
// field and manager; nothing changes. Without, soll takes the field over.
func TestFailOnConflictsAgainstCluster(t *testing.T) {
	e, kc, ns, ctx := newConfigMapRun(t)
	desired := objs(t, ns, `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: prod, level: info}`)
	in := []syncengine.Object{{Desired: desired[0]}}
	if res := e.Sync(ctx, in, syncengine.Options{FailOnConflicts: true}); !res.Succeeded {
		t.Fatalf("first sync: %s", res.Message)
	}
	_, err := testenv.Cluster(t).Kube.CoreV1().ConfigMaps(ns).Patch(ctx, "settings", types.MergePatchType,
		[]byte(`{"data":{"mode":"debug"}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"})
	if err != nil {
		t.Fatal(err)
	}
	mode := func() string {
		t.Helper()
		live, err := kc.Get(ctx, cm, ns, "settings")
		if err != nil {
			t.Fatal(err)
		}
		return live.Object["data"].(map[string]any)["mode"].(string)
	}
	want := `.data.mode (field manager "kubectl-edit"): soll does not take them over, since spec.syncPolicy.syncOptions.forceConflicts is false`
	for _, dryRun := range []bool{true, false} {
		res := e.Sync(ctx, in, syncengine.Options{FailOnConflicts: true, DryRun: dryRun})
		if res.Succeeded || !strings.Contains(res.Message, want) {
			t.Errorf("dry run %v: succeeded=%v %q\nwant the message to contain %q", dryRun, res.Succeeded, res.Message, want)
		}
		if m := mode(); m != "debug" {
			t.Errorf("dry run %v: the refused sync set mode %q", dryRun, m)
		}
	}
	if res := e.Sync(ctx, in, syncengine.Options{}); !res.Succeeded {
		t.Fatalf("sync with force: %s", res.Message)
	}
	if m := mode(); m != "prod" {
		t.Errorf("a sync with force left mode %q", m)
	}
}

// TestKeepIgnoredAgainstCluster: with diff.KeepIgnored as the engine's
// KeepLive, ignored fields stay as they are in the cluster under real
// server-side apply: one soll owns keeps its value when the sources change
// it (left out of the apply, the API server would delete it), and one
// another manager took over keeps that manager's value and owner.
func TestKeepIgnoredAgainstCluster(t *testing.T) {
	e, kc, ns, ctx := newConfigMapRun(t)
	doc := func(mine, theirs string) []syncengine.Object {
		return []syncengine.Object{{Desired: objs(t, ns, `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mine: "`+mine+`", theirs: "`+theirs+`", plain: "`+mine+`"}`)[0]}}
	}
	if res := e.Sync(ctx, doc("1", "1"), syncengine.Options{}); !res.Succeeded {
		t.Fatalf("first sync: %s", res.Message)
	}
	_, err := testenv.Cluster(t).Kube.CoreV1().ConfigMaps(ns).Patch(ctx, "settings", types.MergePatchType,
		[]byte(`{"data":{"theirs":"edited"}}`), metav1.PatchOptions{FieldManager: "other"})
	if err != nil {
		t.Fatal(err)
	}
	ig, err := diff.NewIgnorer([]diff.IgnoreRule{{Kind: "ConfigMap", JSONPointers: []string{"/data/mine", "/data/theirs"}}})
	if err != nil {
		t.Fatal(err)
	}
	keep := diff.KeepIgnored{Rules: ig, Manager: kube.FieldManager}
	if res := e.Sync(ctx, doc("2", "2"), syncengine.Options{KeepLive: keep}); !res.Succeeded {
		t.Fatalf("sync keeping ignored fields: %s", res.Message)
	}
	live, err := kc.Get(ctx, cm, ns, "settings")
	if err != nil {
		t.Fatal(err)
	}
	data := live.Object["data"].(map[string]any)
	if data["mine"] != "1" || data["theirs"] != "edited" || data["plain"] != "2" {
		t.Errorf("data after the sync: %v, want mine 1 (kept), theirs edited (kept), plain 2 (applied)", data)
	}
	for _, mf := range live.GetManagedFields() {
		if mf.Manager == kube.FieldManager && strings.Contains(string(mf.FieldsV1.GetRawBytes()), `"f:theirs"`) {
			t.Errorf("soll took over the field another manager set: %s", mf.FieldsV1.GetRawBytes())
		}
	}
}
