package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
)

const (
	shaA = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
	shaB = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c"
)

func at(s string) metav1.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return metav1.NewTime(t)
}

func ptr[T any](v T) *T { return &v }

// wordpress is an Application in every state worth showing.
func wordpress() *sollv1.Application {
	started, finished := at("2026-03-01T10:00:00Z"), at("2026-03-01T10:00:07Z")
	app := &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "wordpress", Namespace: "soll", Generation: 3},
		Spec: sollv1.ApplicationSpec{
			Project: "web",
			Source: &sollv1.ApplicationSource{
				RepoURL: "https://git.example.com/apps.git", Path: "wordpress", TargetRevision: "main",
				CredentialsRef: &sollv1.LocalSecretReference{Name: "git-creds"},
			},
			Destination: sollv1.ApplicationDestination{Server: inClusterServer, Namespace: "blog"},
			SyncPolicy: &sollv1.SyncPolicy{
				Automated:   &sollv1.AutomatedSyncPolicy{SelfHeal: true},
				SyncOptions: &sollv1.SyncOptions{CreateNamespace: true},
			},
		},
		Status: sollv1.ApplicationStatus{
			ObservedGeneration: 3,
			Conditions: []metav1.Condition{
				{Type: sollv1.ConditionReady, Status: metav1.ConditionFalse, Reason: sollv1.ReasonOutOfSync, Message: "apps/Deployment blog/wordpress is OutOfSync"},
				{Type: sollv1.ConditionCompared, Status: metav1.ConditionTrue, Reason: sollv1.ReasonSucceeded, Message: "compared with the sources at " + shaA[:8]},
				{Type: sollv1.ConditionOperationSucceeded, Status: metav1.ConditionFalse, Reason: sollv1.ReasonSyncFailed, Message: "Deployment wordpress: forbidden"},
			},
			Sync:   &sollv1.SyncStatus{Status: sollv1.SyncStatusOutOfSync, Revision: shaA, Revisions: []string{shaA}},
			Health: &sollv1.HealthStatus{Status: sollv1.HealthDegraded, Message: "Deployment wordpress: 0 of 2 replicas ready"},
			OperationState: &sollv1.OperationState{
				Operation: sollv1.Operation{
					Sync:        &sollv1.SyncOperation{Prune: true},
					InitiatedBy: &sollv1.OperationInitiator{Username: "alice"},
				},
				Phase: sollv1.OperationFailed, Message: "one object failed to apply",
				StartedAt: started, FinishedAt: &finished,
				SyncResult: &sollv1.SyncOperationResult{Revisions: []string{shaA}},
			},
			Resources: []sollv1.ResourceStatus{
				{Group: "apps", Kind: "Deployment", Namespace: "blog", Name: "wordpress", Status: sollv1.SyncStatusOutOfSync,
					Health: &sollv1.HealthStatus{Status: sollv1.HealthDegraded, Message: "0 of 2 replicas ready"}},
				{Kind: "Service", Namespace: "blog", Name: "wordpress", Status: sollv1.SyncStatusSynced,
					Health: &sollv1.HealthStatus{Status: sollv1.HealthHealthy}},
				{Kind: "ConfigMap", Namespace: "blog", Name: "old-config", Status: sollv1.SyncStatusOutOfSync, RequiresPruning: true},
			},
		},
	}
	for i := int64(1); i <= 7; i++ {
		rev := shaB
		if i%2 == 1 {
			rev = shaA
		}
		by := &sollv1.OperationInitiator{Automated: true}
		if i == 7 {
			by = &sollv1.OperationInitiator{Username: "bob"}
		}
		app.Status.History = append(app.Status.History, sollv1.RevisionHistory{
			ID: i, Revisions: []string{rev}, DeployedAt: at("2026-02-0" + string(rune('0'+i)) + "T08:00:00Z"), InitiatedBy: by,
		})
	}
	return app
}

func TestWriteAppTable(t *testing.T) {
	fresh := sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec:       sollv1.ApplicationSpec{Project: "default", Destination: sollv1.ApplicationDestination{Namespace: "api"}},
		Operation:  &sollv1.Operation{Sync: &sollv1.SyncOperation{}},
	}
	chart := sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "redis"},
		Spec:       sollv1.ApplicationSpec{Project: "default"},
		Status: sollv1.ApplicationStatus{
			Sync:           &sollv1.SyncStatus{Status: sollv1.SyncStatusSynced, Revision: "18.19.4"},
			Health:         &sollv1.HealthStatus{Status: sollv1.HealthHealthy},
			OperationState: &sollv1.OperationState{Phase: sollv1.OperationSucceeded},
		},
	}
	var out bytes.Buffer
	if err := writeAppTable(&out, []sollv1.Application{fresh, chart, *wordpress()}, false); err != nil {
		t.Fatal(err)
	}
	want := `NAME        PROJECT   SYNC        HEALTH     REVISION   OPERATION   DESTINATION
api         default   -           -          -          Requested   api
redis       default   Synced      Healthy    18.19.4    Succeeded   -
wordpress   web       OutOfSync   Degraded   1a2b3c4d   Failed      blog
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("app list table (-want +got):\n%s", diff)
	}
}

func TestWriteAppSummary(t *testing.T) {
	var out bytes.Buffer
	if err := writeAppSummary(&out, wordpress()); err != nil {
		t.Fatal(err)
	}
	want := `Name:             soll/wordpress
Project:          web
Source:           https://git.example.com/apps.git
  Path:           wordpress
  Revision:       main
  Credentials:    Secret git-creds
Destination:      https://kubernetes.default.svc, namespace blog
Sync Policy:      automated (self-heal), creates the namespace
Sync Status:      OutOfSync to 1a2b3c4d
Health:           Degraded: Deployment wordpress: 0 of 2 replicas ready
Conditions:
  Ready                False   OutOfSync    apps/Deployment blog/wordpress is OutOfSync
  Compared             True    Succeeded    compared with the sources at 1a2b3c4d
  OperationSucceeded   False   SyncFailed   Deployment wordpress: forbidden
Operation:        Sync (prune) Failed: one object failed to apply
  Initiated By:   alice
  Started:        2026-03-01T10:00:00Z
  Finished:       2026-03-01T10:00:07Z
  Revision:       1a2b3c4d
History (last 5 of 7):
  ID   REVISION   DEPLOYED AT            INITIATED BY
  3    1a2b3c4d   2026-02-03T08:00:00Z   automated sync
  4    9f8e7d6c   2026-02-04T08:00:00Z   automated sync
  5    1a2b3c4d   2026-02-05T08:00:00Z   automated sync
  6    9f8e7d6c   2026-02-06T08:00:00Z   automated sync
  7    1a2b3c4d   2026-02-07T08:00:00Z   bob

GROUP/KIND        NAMESPACE   NAME         STATUS                         HEALTH
apps/Deployment   blog        wordpress    OutOfSync                      Degraded: 0 of 2 replicas ready
Service           blog        wordpress    Synced                         Healthy
ConfigMap         blog        old-config   OutOfSync (requires pruning)   -
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("app get summary (-want +got):\n%s", diff)
	}
}

func TestWriteAppSummaryOfNewMultiSourceApp(t *testing.T) {
	app := &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "soll", Generation: 1},
		Spec: sollv1.ApplicationSpec{
			Project: "default",
			Sources: []sollv1.ApplicationSource{
				{RepoURL: "https://charts.example.com", Chart: "shop", TargetRevision: "2.x"},
				{RepoURL: "https://git.example.com/values.git", Ref: "values"},
			},
			Destination: sollv1.ApplicationDestination{Name: "in-cluster"},
			SyncPolicy:  &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{Enabled: ptr(false), Prune: true}},
			Pin:         &sollv1.RevisionPin{Revisions: []string{"2.3.1", shaB}, Reason: "rollback to history entry 4"},
		},
		Operation: &sollv1.Operation{
			Rollback:    &sollv1.RollbackOperation{ID: 4},
			InitiatedBy: &sollv1.OperationInitiator{Username: "carol"},
		},
	}
	var out bytes.Buffer
	if err := writeAppSummary(&out, app); err != nil {
		t.Fatal(err)
	}
	want := `Name:             soll/shop
Project:          default
Source 1:         https://charts.example.com
  Chart:          shop
  Revision:       2.x
Source 2:         https://git.example.com/values.git
  Revision:       HEAD
  Ref:            values
Pinned:           2.3.1,9f8e7d6c (rollback to history entry 4) (remove with soll app unpin shop)
Destination:      in-cluster
Sync Policy:      manual (automated sync is turned off)
Sync Status:      -
Health:           -
Operation:        Rollback to 4 requested by carol, not started yet
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("app get summary (-want +got):\n%s", diff)
	}
}

func TestShortRev(t *testing.T) {
	for in, want := range map[string]string{
		shaA:                      "1a2b3c4d",
		strings.Repeat("ab", 32):  "abababab",
		"main":                    "main",
		"18.19.4-rc.1+build.2024": "18.19.4-rc.1+build.2024",
		"":                        "",
		strings.ToUpper(shaA):     strings.ToUpper(shaA),
	} {
		if got := shortRev(in); got != want {
			t.Errorf("shortRev(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOperationText(t *testing.T) {
	for _, tc := range []struct {
		op   sollv1.Operation
		want string
	}{
		{sollv1.Operation{Sync: &sollv1.SyncOperation{}}, "Sync"},
		{sollv1.Operation{Sync: &sollv1.SyncOperation{Revision: shaB, DryRun: true, Prune: true,
			Resources: []sollv1.SyncOperationResource{{Kind: "Service", Name: "web"}}}}, "Sync to 9f8e7d6c (prune, dry run, 1 resources)"},
		{sollv1.Operation{Rollback: &sollv1.RollbackOperation{ID: 12, Prune: true}}, "Rollback to 12 (prune)"},
	} {
		if got := operationText(&tc.op); got != tc.want {
			t.Errorf("operationText(%+v) = %q, want %q", tc.op, got, tc.want)
		}
	}
}

func TestPrintObjectSetsKindAndDropsManagedFields(t *testing.T) {
	app := wordpress()
	app.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	var out bytes.Buffer
	if err := printObject(&out, outputYAML, app); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.HasPrefix(s, "apiVersion: soll.dev/v1alpha1\nkind: Application\n") || strings.Contains(s, "managedFields") {
		t.Errorf("yaml output lacks apiVersion/kind or has managedFields:\n%s", s)
	}
	if len(app.ManagedFields) != 1 {
		t.Error("printObject changed its argument")
	}
}

// TestWriteAppSummaryWhileDeleted shows an Application whose deletion
// waits for a failed PreDelete hook.
func TestWriteAppSummaryWhileDeleted(t *testing.T) {
	since := at("2026-03-02T09:00:00Z")
	app := &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "soll"},
		Spec:       sollv1.ApplicationSpec{Project: "default", Destination: sollv1.ApplicationDestination{Name: "in-cluster", Namespace: "db"}},
		Status: sollv1.ApplicationStatus{
			Deletion: &sollv1.DeletionStatus{
				Hooks: []sollv1.DeletionHook{
					{Group: "batch", Kind: "Job", Namespace: "db", Name: "backup", Types: []sollv1.HookType{sollv1.HookPreDelete}},
					{Kind: "ConfigMap", Namespace: "db", Name: "farewell", Types: []sollv1.HookType{sollv1.HookPreDelete, sollv1.HookPostDelete}},
				},
				Phase: sollv1.DeletionPreDelete, PhaseStartedAt: &since, Attempts: 2, Revisions: []string{shaB},
				Message: "PreDelete hook failed: batch/Job db/backup is Degraded: DeadlineExceeded; no object was deleted",
				Results: []sollv1.ResourceResult{
					{Kind: "ConfigMap", Namespace: "db", Name: "farewell", SyncPhase: sollv1.SyncPhasePreDelete, HookType: sollv1.HookPreDelete, HookPhase: sollv1.HookPhaseSucceeded, Message: "hook completed"},
					{Group: "batch", Kind: "Job", Namespace: "db", Name: "backup", SyncPhase: sollv1.SyncPhasePreDelete, HookType: sollv1.HookPreDelete, HookPhase: sollv1.HookPhaseFailed, Message: "DeadlineExceeded"},
				},
			},
		},
	}
	var out bytes.Buffer
	if err := writeAppSummary(&out, app); err != nil {
		t.Fatal(err)
	}
	want := `Name:             soll/db
Project:          default
Destination:      in-cluster, namespace db
Sync Policy:      manual
Sync Status:      -
Health:           -
Deletion Hooks:   PreDelete batch/Job/backup; PreDelete,PostDelete ConfigMap/farewell
Deletion:         PreDelete: PreDelete hook failed: batch/Job db/backup is Degraded: DeadlineExceeded; no object was deleted
  Since:          2026-03-02T09:00:00Z
  Revision:       9f8e7d6c
  Hooks:
    PreDelete   ConfigMap/farewell   Succeeded   hook completed
    PreDelete   batch/Job/backup     Failed      DeadlineExceeded
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("app get summary (-want +got):\n%s", diff)
	}
}

// TestHistoryTableCommits: the wide history shows each entry's commit
// subject, with a terminal's control characters made harmless.
func TestHistoryTableCommits(t *testing.T) {
	h := []sollv1.RevisionHistory{{ID: 4, Revisions: []string{"1a2b3c4d5e"}, DeployedAt: metav1.NewTime(time.Date(2026, 2, 4, 8, 0, 0, 0, time.UTC)),
		Commits: []sollv1.RevisionMetadata{{Revision: "1a2b3c4d5e", Message: "fix\x1b[31m red\tcolumn\nbody line"}}}}
	var b strings.Builder
	if err := writeHistoryTable(&b, h, true); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "COMMIT") || !strings.Contains(out, "fix [31m red column") || strings.Contains(out, "\x1b") || strings.Contains(out, "body line") {
		t.Errorf("wide history:\n%q", out)
	}
	b.Reset()
	if err := writeHistoryTable(&b, h, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "COMMIT") {
		t.Errorf("the narrow history has the commit column:\n%s", b.String())
	}
}
