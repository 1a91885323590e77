package controller_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
)

// TestOperationLogLines: with a JSON log, the lines of a sync operation
// carry the app (namespace/name) and the operation's id, its start time
// as status.operationState.startedAt has it, so one operation's lines
// can be found among all apps'.
func TestOperationLogLines(t *testing.T) {
	logs := &testenv.SyncBuffer{}
	h := newHarnessWith(t, harnessOptions{
		files: map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: logged}\ndata: {a: b}\n"},
		log:   slog.New(slog.NewJSONHandler(logs, nil)),
	})
	h.createAppNamed("logged", "app", func(a *sollv1.Application) {
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
	})
	app := h.waitForApp("logged", "synced by an operation", time.Minute, func(a *sollv1.Application) bool {
		return syncedHealthy(a) && a.Status.OperationState != nil && a.Status.OperationState.Phase == sollv1.OperationSucceeded
	})
	wantApp := h.sollNS + "/logged"
	wantOp := app.Status.OperationState.StartedAt.UTC().Format(time.RFC3339)
	found := func() map[string]map[string]any {
		lines := map[string]map[string]any{}
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var l map[string]any
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
			}
			if l["app"] == wantApp && l["operation"] == wantOp {
				lines[l["msg"].(string)] = l
			}
		}
		return lines
	}
	testenv.WaitFor(t, "the operation's log lines", 30*time.Second, func() bool {
		l := found()
		return l["operation started"] != nil && l["operation finished"] != nil
	})
	done := found()["operation finished"]
	if done["succeeded"] != true || done["reason"] != sollv1.ReasonSucceeded || done["duration"] == "" {
		t.Errorf("operation finished line: %v", done)
	}
}
