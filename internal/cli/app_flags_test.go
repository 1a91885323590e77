package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	sollv1 "soll.dev/api/v1alpha1"
)

func TestParseResource(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    sollv1.SyncOperationResource
		wantErr bool
	}{
		{in: "apps:Deployment:web", want: sollv1.SyncOperationResource{Group: "apps", Kind: "Deployment", Name: "web"}},
		{in: ":Service:web", want: sollv1.SyncOperationResource{Kind: "Service", Name: "web"}},
		{in: "apps:Deployment:prod/web", want: sollv1.SyncOperationResource{Group: "apps", Kind: "Deployment", Namespace: "prod", Name: "web"}},
		{in: "Deployment:web", wantErr: true},
		{in: "apps:Deployment:", wantErr: true},
		{in: "apps::web", wantErr: true},
		{in: "a:b:c:d", wantErr: true},
		{in: "apps:Deployment:/web", wantErr: true},
		{in: "apps:Deployment:prod/", wantErr: true},
		{in: "apps:Deployment:a/b/c", wantErr: true},
	} {
		got, err := parseResource(tc.in)
		if tc.wantErr {
			if err == nil || !strings.Contains(err.Error(), "--resource") {
				t.Errorf("parseResource(%q) = %+v, %v; want an error naming --resource", tc.in, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseResource(%q): %v", tc.in, err)
		} else if got != tc.want {
			t.Errorf("parseResource(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestCreateFlagsApplication(t *testing.T) {
	f := createFlags{
		repo: "https://git.example.com/apps.git", path: "guestbook", revision: "v1", credentials: "creds",
		destServer: inClusterServer, destNamespace: "guestbook", project: "default",
		autoSync: true, selfHeal: true, createNamespace: true, cascade: true,
	}
	app, err := f.application("guestbook", "soll")
	if err != nil {
		t.Fatal(err)
	}
	want := sollv1.ApplicationSpec{
		Project: "default",
		Source: &sollv1.ApplicationSource{RepoURL: f.repo, Path: "guestbook", TargetRevision: "v1",
			CredentialsRef: &sollv1.LocalSecretReference{Name: "creds"}},
		Destination: sollv1.ApplicationDestination{Server: inClusterServer, Namespace: "guestbook"},
		SyncPolicy: &sollv1.SyncPolicy{
			Automated:   &sollv1.AutomatedSyncPolicy{SelfHeal: true},
			SyncOptions: &sollv1.SyncOptions{CreateNamespace: true},
		},
	}
	if diff := cmp.Diff(want, app.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if app.Name != "guestbook" || app.Namespace != "soll" || !cmp.Equal(app.Finalizers, []string{sollv1.ResourcesFinalizer}) {
		t.Errorf("metadata %+v, want guestbook in soll with the resources finalizer", app.ObjectMeta)
	}

	f = createFlags{repo: "r", path: ".", destServer: inClusterServer, project: "default"}
	app, err = f.application("plain", "soll")
	if err != nil {
		t.Fatal(err)
	}
	if app.Spec.SyncPolicy != nil || len(app.Finalizers) != 0 {
		t.Errorf("without flags: sync policy %+v, finalizers %v; want none", app.Spec.SyncPolicy, app.Finalizers)
	}

	for _, bad := range []createFlags{
		{repo: "r", selfHeal: true},
		{repo: "r", autoPrune: true},
		{path: "p"},
	} {
		if _, err := bad.application("x", "soll"); err == nil {
			t.Errorf("flags %+v accepted, want an error", bad)
		}
	}
}

func TestSetFlagsPatch(t *testing.T) {
	manual := &sollv1.Application{Spec: sollv1.ApplicationSpec{Source: &sollv1.ApplicationSource{RepoURL: "r"}}}
	manual.Name = "web"
	auto := manual.DeepCopy()
	auto.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
	multi := &sollv1.Application{Spec: sollv1.ApplicationSpec{Sources: []sollv1.ApplicationSource{{RepoURL: "a"}, {RepoURL: "b"}}}}

	for _, tc := range []struct {
		name    string
		app     *sollv1.Application
		flags   setFlags
		changed []string
		want    string // JSON of the patch, or "" for none
		wantErr string
	}{
		{"self-heal on automated", auto, setFlags{selfHeal: true}, []string{"self-heal"},
			`{"spec":{"syncPolicy":{"automated":{"selfHeal":true}}}}`, ""},
		{"auto-sync with self-heal", manual, setFlags{autoSync: true, selfHeal: true}, []string{"auto-sync", "self-heal"},
			`{"spec":{"syncPolicy":{"automated":{"enabled":true,"selfHeal":true}}}}`, ""},
		{"turn off", auto, setFlags{}, []string{"auto-sync", "auto-prune"},
			`{"spec":{"syncPolicy":{"automated":{"enabled":false,"prune":false}}}}`, ""},
		{"self-heal off without automated is a no-op", manual, setFlags{}, []string{"self-heal"}, "", ""},
		{"revision", manual, setFlags{revision: "v2"}, []string{"revision"},
			`{"spec":{"source":{"targetRevision":"v2"}}}`, ""},
		{"self-heal without automated", manual, setFlags{selfHeal: true}, []string{"self-heal"}, "", "add --auto-sync"},
		{"revision of multi-source", multi, setFlags{revision: "v2"}, []string{"revision"}, "", "2 sources"},
		{"nothing", manual, setFlags{}, nil, "", "nothing to set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changed := func(name string) bool { return strings.Contains(strings.Join(tc.changed, ","), name) }
			patch, err := tc.flags.patch(tc.app, changed)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, %v; want an error containing %q", patch, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if patch != nil {
				b, _ := json.Marshal(patch)
				got = string(b)
			}
			if got != tc.want {
				t.Errorf("patch %s, want %s", got, tc.want)
			}
		})
	}
}

func TestSyncFlagsOperation(t *testing.T) {
	single := &sollv1.Application{Spec: sollv1.ApplicationSpec{Source: &sollv1.ApplicationSource{RepoURL: "r"}}}
	f := syncFlags{prune: true, dryRun: true, revision: "abc", resources: []string{":Service:web", "apps:Deployment:prod/web"}}
	op, err := f.operation(single)
	if err != nil {
		t.Fatal(err)
	}
	want := &sollv1.Operation{Sync: &sollv1.SyncOperation{Prune: true, DryRun: true, Revision: "abc", Resources: []sollv1.SyncOperationResource{
		{Kind: "Service", Name: "web"}, {Group: "apps", Kind: "Deployment", Namespace: "prod", Name: "web"},
	}}}
	if diff := cmp.Diff(want, op); diff != "" {
		t.Errorf("operation (-want +got):\n%s", diff)
	}
	multi := &sollv1.Application{Spec: sollv1.ApplicationSpec{Sources: []sollv1.ApplicationSource{{RepoURL: "a"}}}}
	if _, err := (&syncFlags{revision: "abc"}).operation(multi); err == nil {
		t.Error("--revision on a multi-source app accepted")
	}
}

func TestOperationFree(t *testing.T) {
	app := &sollv1.Application{}
	app.Name, app.Namespace = "web", "soll"
	if err := operationFree(app, " -n soll"); err != nil {
		t.Errorf("app without operations: %v", err)
	}
	app.Status.OperationState = &sollv1.OperationState{Phase: sollv1.OperationSucceeded}
	if err := operationFree(app, " -n soll"); err != nil {
		t.Errorf("app with a finished operation: %v", err)
	}
	app.Status.OperationState.Phase = sollv1.OperationRunning
	if err := operationFree(app, " -n soll"); err == nil || !strings.Contains(err.Error(), "soll app terminate-op web -n soll") {
		t.Errorf("running operation: got %v, want an error pointing at terminate-op", err)
	}
	app.Status.OperationState = nil
	app.Operation = &sollv1.Operation{Sync: &sollv1.SyncOperation{}}
	if err := operationFree(app, " -n soll"); err == nil || !strings.Contains(err.Error(), "not started yet") {
		t.Errorf("pending operation: got %v, want an error", err)
	}
}

// TestFlagErrorsBeforeTheCluster runs commands whose flags or arguments are
// wrong: they fail with a clear message without reading any kubeconfig.
func TestFlagErrorsBeforeTheCluster(t *testing.T) {
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"app", "get"}, "takes 1 argument(s), NAME, got 0"},
		{[]string{"app", "rollback", "web"}, "NAME ID"},
		{[]string{"app", "rollback", "web", "x"}, `history ID "x" is not a number`},
		{[]string{"app", "list", "-o", "xml"}, "--output"},
		{[]string{"app", "create", "web", "--repo", "r"}, `"path" not set`},
		{[]string{"app", "create", "web", "--repo", "r", "--path", ".", "--self-heal"}, "add --auto-sync"},
		{[]string{"app", "sync", "web", "--resource", "Deployment:web"}, "GROUP:KIND:NAME"},
		{[]string{"app", "wait", "web", "--timeout", "0s"}, "--timeout"},
		{[]string{"install", "-n", "Not_A_Namespace"}, "not a valid namespace name"},
	} {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), tc.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("soll %s: got error %v, want one containing %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}
