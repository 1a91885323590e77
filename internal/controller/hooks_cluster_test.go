package controller_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
)

// jobYAML is a Job with the metadata meta (a YAML mapping's inside, such
// as "generateName: migrate-"); kwok completes its pod.
func jobYAML(meta string) string {
	return `apiVersion: batch/v1
kind: Job
metadata: {` + meta + `}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: run
        image: busybox:1.36
`
}

// hookRuns lists the hooks of the app's last operation as "name phase",
// in the order the operation ran them.
func hookRuns(app *sollv1.Application) []string {
	var out []string
	if st := app.Status.OperationState; st != nil && st.SyncResult != nil {
		for _, r := range st.SyncResult.Resources {
			if r.HookType != "" {
				out = append(out, r.Name+" "+string(r.HookPhase))
			}
		}
	}
	return out
}

// jobs lists the names of the Jobs in namespace ns.
func (h *harness) jobs(ns string) []string {
	h.t.Helper()
	l, err := h.env.Kube.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, j := range l.Items {
		if j.DeletionTimestamp == nil {
			out = append(out, j.Name)
		}
	}
	slices.Sort(out)
	return out
}

// waitJobs waits until the Jobs of namespace ns (not being deleted) are
// as many as want and each name has the prefix of its rank in want.
func (h *harness) waitJobs(ns string, want ...string) []string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got []string
	err := testenv.Eventually(ctx, 100*time.Millisecond, func(context.Context) (bool, error) {
		got = h.jobs(ns)
		if len(got) != len(want) {
			return false, nil
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		h.t.Fatalf("Jobs in %s: %v, want names starting with %v: %v", ns, got, want, err)
	}
	return got
}

// checkOnlyResources fails unless the app's resources are exactly want
// ("Kind namespace/name"): hooks never show among them.
func checkOnlyResources(t *testing.T, app *sollv1.Application, want ...string) {
	t.Helper()
	var got []string
	for _, r := range app.Status.Resources {
		got = append(got, r.Kind+" "+r.Namespace+"/"+r.Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("resources %v, want %v\n%s", got, want, describe(app))
	}
}

// TestGenerateNameHooks: hooks named by generateName, with the hook
// annotations of soll, Argo CD and Helm, are created under a generated
// name, awaited, and handled by their delete policies; they never show as
// resources of the app, which is Synced and Healthy after the sync and at
// the next comparison; a second sync runs them again under new names
// (except Helm's pre-install hook), BeforeHookCreation (the default)
// deleting the earlier run.
func TestGenerateNameHooks(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		"app/cm.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  v: \"1\"\n",
		"app/migrate.yaml": jobYAML("generateName: migrate-, annotations: {argocd.argoproj.io/hook: PreSync}"),
		"app/install.yaml": jobYAML("generateName: install-, annotations: {helm.sh/hook: pre-install}"),
		"app/smoke.yaml":   jobYAML("generateName: smoke-, annotations: {soll.dev/hook: PostSync, soll.dev/hook-delete-policy: HookSucceeded}"),
	}})
	h.createAppNamed("hooks", "app", nil)
	h.requestSyncOf("hooks")
	app := h.waitForApp("hooks", "first sync", 2*time.Minute, succeededAfter(1))
	runs := hookRuns(app)
	// The two PreSync hooks run side by side, then the PostSync one.
	if pre := slices.Sorted(slices.Values(runs[:min(2, len(runs))])); len(runs) != 3 ||
		!strings.HasPrefix(pre[0], "install-") || !strings.HasPrefix(pre[1], "migrate-") || !strings.HasPrefix(runs[2], "smoke-") {
		t.Errorf("first sync ran hooks %v, want install- and migrate- (PreSync), then smoke- (PostSync)", runs)
	}
	for _, r := range runs {
		if strings.Contains(r, "*") || !strings.HasSuffix(r, " Succeeded") {
			t.Errorf("hook run %q: want its generated name, Succeeded", r)
		}
	}
	checkOnlyResources(t, app, "ConfigMap "+h.destNS+"/web")
	// The smoke test's run is deleted once it succeeded (HookSucceeded);
	// the others stay until their next run.
	first := h.waitJobs(h.destNS, "install-", "migrate-")
	for _, name := range first {
		job, err := h.env.Kube.BatchV1().Jobs(h.destNS).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !jobComplete(job) {
			t.Errorf("Job %s did not complete: %+v", name, job.Status)
		}
	}

	// The next comparison stays Synced: the hooks' runs are no extra
	// resources, and nothing is missing.
	h.settle("hooks", "hard")
	app = h.appNamed("hooks")
	checkSettled(t, app)
	checkOnlyResources(t, app, "ConfigMap "+h.destNS+"/web")

	h.requestSyncOf("hooks")
	app = h.waitForApp("hooks", "second sync", 2*time.Minute, succeededAfter(2))
	runs = hookRuns(app)
	if len(runs) != 2 || !strings.HasPrefix(runs[0], "migrate-") || !strings.HasPrefix(runs[1], "smoke-") {
		t.Errorf("second sync ran hooks %v, want migrate- and smoke- (pre-install runs on the first sync only)", runs)
	}
	second := h.waitJobs(h.destNS, "install-", "migrate-")
	if second[0] != first[0] {
		t.Errorf("the pre-install hook's Job changed from %s to %s", first[0], second[0])
	}
	if second[1] == first[1] || !strings.HasPrefix(runs[0], second[1]+" ") {
		t.Errorf("migrate Jobs: first sync %s, second %s, second sync ran %v: want a new run that replaced the first", first[1], second[1], runs)
	}
	checkSettled(t, app)
}

// checkSettled fails unless app is Synced and Healthy without a condition
// that reports a problem.
func checkSettled(t *testing.T, app *sollv1.Application) {
	t.Helper()
	if !syncedHealthy(app) {
		t.Errorf("not Synced and Healthy:\n%s", describe(app))
	}
	if c := comparisonFailure(app); c != nil {
		t.Errorf("comparison failed: %s: %s", c.Reason, c.Message)
	}
	for _, c := range []string{sollv1.ApplicationSharedResource, sollv1.ConditionExistingResource, sollv1.ConditionUnknownSyncOption} {
		if cond := condition(app, c); cond != nil && cond.Status == metav1.ConditionTrue {
			t.Errorf("condition %s: %s", c, cond.Message)
		}
	}
}

func jobComplete(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == batchv1.JobComplete && c.Status == "True" {
			return true
		}
	}
	return false
}

// TestHelmHookAnnotationsOutsideCharts: helm.sh/hook, hook-weight and
// hook-delete-policy in a plain directory and in Kustomize output act as
// in a chart: pre-install hooks run on the first sync only, in the order
// of their weights, hook-succeeded deletes a hook that succeeded, and
// pre-upgrade hooks run on later syncs only.
func TestHelmHookAnnotationsOutsideCharts(t *testing.T) {
	hooks := map[string]string{
		"cm.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
		"late.yaml":    jobYAML(`name: late, annotations: {helm.sh/hook: pre-install, helm.sh/hook-weight: "5", helm.sh/hook-delete-policy: hook-succeeded}`),
		"early.yaml":   jobYAML(`name: early, annotations: {helm.sh/hook: pre-install, helm.sh/hook-weight: "-5"}`),
		"upgrade.yaml": jobYAML(`name: upgrade, annotations: {helm.sh/hook: pre-upgrade}`),
	}
	files := map[string]string{"kustomized/kustomization.yaml": "resources:\n"}
	for name, data := range hooks {
		files["plain/"+name] = data
		files["kustomized/"+name] = data
		files["kustomized/kustomization.yaml"] += "- " + name + "\n"
	}
	h := newHarnessWith(t, harnessOptions{files: files})
	for _, path := range []string{"plain", "kustomized"} {
		ns := h.env.Namespace(t)
		h.createAppNamed(path, path, func(a *sollv1.Application) { a.Spec.Destination.Namespace = ns })
		h.requestSyncOf(path)
		app := h.waitForApp(path, "first sync", 2*time.Minute, succeededAfter(1))
		if got, want := hookRuns(app), []string{"early Succeeded", "late Succeeded"}; !slices.Equal(got, want) {
			t.Errorf("%s: first sync ran hooks %v, want %v", path, got, want)
		}
		waves := map[string]int32{}
		for _, r := range app.Status.OperationState.SyncResult.Resources {
			if r.HookType != "" {
				waves[r.Name] = r.SyncWave
				if r.HookType != sollv1.HookType("PreSync") {
					t.Errorf("%s: hook %s ran as %s, want PreSync", path, r.Name, r.HookType)
				}
			}
		}
		if waves["early"] != -5 || waves["late"] != 5 {
			t.Errorf("%s: hook waves %v, want early -5 and late 5", path, waves)
		}
		checkOnlyResources(t, app, "ConfigMap "+ns+"/web")
		// hook-succeeded deleted late; early stays (Helm's default
		// policy, before-hook-creation, deletes it at its next run).
		h.waitJobs(ns, "early")

		h.requestSyncOf(path)
		app = h.waitForApp(path, "second sync", 2*time.Minute, succeededAfter(2))
		if got, want := hookRuns(app), []string{"upgrade Succeeded"}; !slices.Equal(got, want) {
			t.Errorf("%s: second sync ran hooks %v, want %v", path, got, want)
		}
		h.waitJobs(ns, "early", "upgrade")
		if _, err := h.env.Kube.BatchV1().Jobs(ns).Get(context.Background(), "late", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: the hook-succeeded hook is still there (get: %v)", path, err)
		}
		checkSettled(t, app)
	}
}
