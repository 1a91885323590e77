package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sollv1 "soll.dev/api/v1alpha1"
)

// syncing returns the states of an app going through a sync: requested,
// running with a Deployment applied but not yet healthy, then done.
func syncing() []*sollv1.Application {
	app := &sollv1.Application{}
	app.Name = "web"
	app.Status.Sync = &sollv1.SyncStatus{Status: sollv1.SyncStatusOutOfSync}
	app.Status.Health = &sollv1.HealthStatus{Status: sollv1.HealthMissing}
	app.Status.Resources = []sollv1.ResourceStatus{
		{Kind: "Service", Namespace: "web", Name: "web", Status: sollv1.SyncStatusOutOfSync, Health: &sollv1.HealthStatus{Status: sollv1.HealthMissing}},
		{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "web", Status: sollv1.SyncStatusOutOfSync, Health: &sollv1.HealthStatus{Status: sollv1.HealthMissing}},
	}
	requested := app.DeepCopy()
	requested.Operation = &sollv1.Operation{Sync: &sollv1.SyncOperation{}}

	running := app.DeepCopy()
	running.Status.OperationState = &sollv1.OperationState{Phase: sollv1.OperationRunning, Message: "waiting for healthy",
		SyncResult: &sollv1.SyncOperationResult{Resources: []sollv1.ResourceResult{
			{Kind: "Service", Namespace: "web", Name: "web", Status: sollv1.ResultSynced, Message: "created"},
			{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "web", Status: sollv1.ResultSynced, Message: "created"},
		}}}
	running.Status.Resources[0].Status, running.Status.Resources[0].Health.Status = sollv1.SyncStatusSynced, sollv1.HealthHealthy
	running.Status.Resources[1].Status, running.Status.Resources[1].Health.Status = sollv1.SyncStatusSynced, sollv1.HealthProgressing

	done := running.DeepCopy()
	done.Status.OperationState.Phase, done.Status.OperationState.Message = sollv1.OperationSucceeded, "done"
	done.Status.Sync.Status, done.Status.Health.Status = sollv1.SyncStatusSynced, sollv1.HealthHealthy
	done.Status.Resources[1].Health.Status = sollv1.HealthHealthy
	return []*sollv1.Application{requested, running, running.DeepCopy(), done}
}

func fixedClock() time.Time { return time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC) }

// TestProgressLines checks the output for logs and pipes: a line for
// each change of the app or of a resource, nothing for a state seen
// already.
func TestProgressLines(t *testing.T) {
	var out bytes.Buffer
	p := newProgressWriter(&out, "web")
	p.now = fixedClock
	for _, app := range syncing() {
		if err := p.update(app); err != nil {
			t.Fatal(err)
		}
	}
	want := `08:00:00  web: sync OutOfSync, health Missing, operation Requested
08:00:00  web: Service web/web: OutOfSync, health Missing
08:00:00  web: apps/Deployment web/web: OutOfSync, health Missing
08:00:00  web: sync OutOfSync, health Missing, operation Running (waiting for healthy)
08:00:00  web: Service web/web: Synced, health Healthy, Synced: created
08:00:00  web: apps/Deployment web/web: Synced, health Progressing, Synced: created
08:00:00  web: sync Synced, health Healthy, operation Succeeded (done)
08:00:00  web: apps/Deployment web/web: Synced, health Healthy, Synced: created
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("progress lines (-want +got):\n%s", diff)
	}
}

// TestProgressRedraw checks the terminal output: each state replaces the
// table drawn before (the cursor goes up as many lines as were drawn),
// and no line is wider than the terminal.
func TestProgressRedraw(t *testing.T) {
	var out bytes.Buffer
	p := newProgressWriter(&out, "web")
	p.now, p.width = fixedClock, 60
	states := syncing()
	for _, app := range states[:3] { // the third is the second again: no redraw
		if err := p.update(app); err != nil {
			t.Fatal(err)
		}
	}
	first, second, ok := strings.Cut(out.String(), "\r\x1b[4A\x1b[J")
	if n := strings.Count(out.String(), "\x1b[J"); n != 1 {
		t.Errorf("%d redraws for 3 states of which 2 differ, want 1", n)
	}
	if !ok {
		t.Fatalf("the second drawing does not move back over the 4 lines of the first:\n%q", out.String())
	}
	wantFirst := "08:00:00  web: sync OutOfSync, health Missing, operation Re\n" +
		"  GROUP/KIND        NAMESPACE   NAME   SYNC        HEALTH  \n" +
		"  Service           web         web    OutOfSync   Missing \n" +
		"  apps/Deployment   web         web    OutOfSync   Missing \n"
	if diff := cmp.Diff(wantFirst, first); diff != "" {
		t.Errorf("first drawing (-want +got):\n%s", diff)
	}
	for _, line := range strings.Split(strings.TrimSuffix(second, "\n"), "\n") {
		if n := len([]rune(line)); n >= p.width {
			t.Errorf("line of %d characters on a terminal of %d: %q", n, p.width, line)
		}
	}
	if !strings.Contains(second, "  apps/Deployment   web         web    Synced   Progressing") {
		t.Errorf("second drawing lacks the Deployment's progress:\n%s", second)
	}
}
