package cli

import (
	"strings"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// TestWriteResourceDiffsColour checks the colours of a diff on a terminal
// and the line for a resource whose difference went away since the last
// comparison.
func TestWriteResourceDiffsColour(t *testing.T) {
	d := &apitypes.Diff{
		Resources: []sollv1.ResourceStatus{
			{Kind: "ConfigMap", Namespace: "web", Name: "settings", Status: "OutOfSync"},
			{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "web", Status: "OutOfSync"},
		},
		Diffs: []apitypes.ResourceDiff{
			{Kind: "ConfigMap", Namespace: "web", Name: "settings", Diff: "--- live\n+++ desired\n@@ -1,3 +1,2 @@\n data:\n-  mode: slow\n+  mode: fast\n--- a removed line starting with dashes\n"},
			{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "web"},
		},
	}
	var b strings.Builder
	if err := writeResourceDiffs(&b, d, true); err != nil {
		t.Fatal(err)
	}
	want := "\n\x1b[1m===== ConfigMap web/settings (OutOfSync) =====\x1b[0m\n" +
		"\x1b[1m--- live\x1b[0m\n\x1b[1m+++ desired\x1b[0m\n\x1b[36m@@ -1,3 +1,2 @@\x1b[0m\n data:\n" +
		"\x1b[31m-  mode: slow\x1b[0m\n\x1b[32m+  mode: fast\x1b[0m\n\x1b[31m--- a removed line starting with dashes\x1b[0m\n" +
		"\n\x1b[1m===== apps/Deployment web/web (OutOfSync) =====\x1b[0m\n" +
		"(no difference now: the resource changed since the last comparison; soll app diff --refresh compares again)\n"
	if b.String() != want {
		t.Errorf("coloured diff:\n%q\nwant\n%q", b.String(), want)
	}
}
