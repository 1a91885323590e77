package controller

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func liveObj(rv string, data string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	u.SetNamespace("n")
	u.SetName("a")
	u.SetResourceVersion(rv)
	u.Object["data"] = map[string]any{"k": data}
	return u
}

// TestWrittenOverlay checks read-your-writes: soll's own write answers
// reads until the watch delivers it or anything newer, and never after.
func TestWrittenOverlay(t *testing.T) {
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	k := writtenKey{gvr, "n", "a"}
	w := &liveWatcher{written: map[writtenKey]writtenObj{}}
	put := func(rv uint64, data string) {
		w.written[k] = writtenObj{obj: liveObj("", data), rv: rv, at: time.Now()}
	}
	data := func(u *unstructured.Unstructured) string {
		if u == nil {
			return "<none>"
		}
		return u.Object["data"].(map[string]any)["k"].(string)
	}

	// Created: the watch has not delivered it yet.
	put(10, "applied")
	if got := w.newerWrite(k, nil); data(got) != "applied" {
		t.Fatalf("created, not in the cache: got %s, want the applied object", data(got))
	}
	// The cache holds an older version.
	if got := w.newerWrite(k, liveObj("9", "old")); data(got) != "applied" {
		t.Fatalf("older cached version: got %s, want the applied object", data(got))
	}
	// The watch delivers the write: the cache answers from now on.
	w.seen(gvr, liveObj("10", "applied"), false)
	if _, found := w.written[k]; found {
		t.Fatal("the entry outlived the watch event of the write")
	}

	// A newer change by someone else wins over soll's write.
	put(20, "applied")
	if got := w.newerWrite(k, liveObj("21", "edited")); got != nil {
		t.Fatalf("newer cached version: got %s, want the cache to answer", data(got))
	}
	if _, found := w.written[k]; found {
		t.Fatal("the entry outlived a newer cached version")
	}

	// A deletion seen by the watch ends the entry, whatever its version.
	put(30, "applied")
	w.seen(gvr, liveObj("5", "old"), true)
	if got := w.newerWrite(k, nil); got != nil {
		t.Fatalf("after a deletion: got %s, want nothing", data(got))
	}

	// An older watch event keeps the entry.
	put(40, "applied")
	w.seen(gvr, liveObj("39", "old"), false)
	if got := w.newerWrite(k, liveObj("39", "old")); data(got) != "applied" {
		t.Fatalf("after an older event: got %s, want the applied object", data(got))
	}

	// An unreadable version ends the overlay for the object.
	if got := w.newerWrite(k, liveObj("not-a-number", "x")); got != nil {
		t.Fatalf("unparsable version: got %s, want the cache to answer", data(got))
	}

	// Entries the watch never confirms age out.
	w.written[k] = writtenObj{obj: liveObj("", "applied"), rv: 50, at: time.Now().Add(-writtenTTL - time.Second)}
	if got := w.newerWrite(k, nil); got != nil {
		t.Fatalf("expired entry: got %s, want nothing", data(got))
	}
	if len(w.written) != 0 {
		t.Fatalf("%d entries left, want 0", len(w.written))
	}
}
