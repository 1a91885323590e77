package sync

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func helmHookObj(ann map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("batch/v1")
	u.SetKind("Job")
	u.SetNamespace("web")
	u.SetName("migrate")
	u.SetAnnotations(ann)
	return u
}

func TestTranslateHelmHook(t *testing.T) {
	cases := []struct {
		name                  string
		ann                   map[string]string
		install               bool
		keep                  bool
		hook, wave, delPolicy string
	}{
		{"ordinary object", nil, true, true, "", "", ""},
		{"pre-install on first sync", map[string]string{HelmHookAnnotation: "pre-install"}, true, true, "PreSync", "", ""},
		{"pre-install on upgrade", map[string]string{HelmHookAnnotation: "pre-install"}, false, false, "", "", ""},
		{"post-install on first sync", map[string]string{HelmHookAnnotation: "post-install"}, true, true, "PostSync", "", ""},
		{"pre-upgrade on first sync", map[string]string{HelmHookAnnotation: "pre-upgrade"}, true, false, "", "", ""},
		{"pre-upgrade on upgrade", map[string]string{HelmHookAnnotation: "pre-upgrade"}, false, true, "PreSync", "", ""},
		{"post-upgrade on upgrade", map[string]string{HelmHookAnnotation: "post-upgrade"}, false, true, "PostSync", "", ""},
		{"install and upgrade", map[string]string{HelmHookAnnotation: "pre-install, pre-upgrade"}, false, true, "PreSync", "", ""},
		{"test hook never", map[string]string{HelmHookAnnotation: "test"}, true, false, "", "", ""},
		{"pre-delete", map[string]string{HelmHookAnnotation: "pre-delete"}, false, true, "PreDelete", "", ""},
		{"pre-delete on first sync", map[string]string{HelmHookAnnotation: "pre-delete"}, true, true, "PreDelete", "", ""},
		{"post-delete", map[string]string{HelmHookAnnotation: "post-delete", HelmHookDeletePolicyAnnotation: "hook-succeeded"}, false, true, "PostDelete", "", "HookSucceeded"},
		{"pre-delete and pre-upgrade", map[string]string{HelmHookAnnotation: "pre-upgrade,pre-delete"}, false, true, "PreSync,PreDelete", "", ""},
		{"pre-delete and pre-upgrade on first sync", map[string]string{HelmHookAnnotation: "pre-upgrade,pre-delete"}, true, true, "PreDelete", "", ""},
		{"both deletion hooks", map[string]string{HelmHookAnnotation: "pre-delete,post-delete", HelmHookWeightAnnotation: "2"}, true, true, "PreDelete,PostDelete", "2", ""},
		{"rollback hook never", map[string]string{HelmHookAnnotation: "pre-rollback"}, false, false, "", "", ""},
		{"weight becomes wave", map[string]string{HelmHookAnnotation: "post-install", HelmHookWeightAnnotation: " -5 "}, true, true, "PostSync", "-5", ""},
		{"explicit wave wins", map[string]string{HelmHookAnnotation: "post-install", HelmHookWeightAnnotation: "3", "soll.dev/sync-wave": "7"}, true, true, "PostSync", "7", ""},
		{"delete policies", map[string]string{HelmHookAnnotation: "pre-install", HelmHookDeletePolicyAnnotation: "before-hook-creation,hook-succeeded"}, true, true, "PreSync", "", "BeforeHookCreation,HookSucceeded"},
		{"explicit hook wins", map[string]string{HelmHookAnnotation: "pre-upgrade", "argocd.argoproj.io/hook": "Sync"}, true, true, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj := helmHookObj(c.ann)
			h, err := TranslateHelmHook(obj, c.install)
			if err != nil {
				t.Fatal(err)
			}
			if h.Keep != c.keep {
				t.Fatalf("got %+v, want keep=%v", h, c.keep)
			}
			if !h.Keep {
				return
			}
			ann := obj.GetAnnotations()
			if ann["soll.dev/hook"] != c.hook {
				t.Errorf("soll.dev/hook = %q, want %q", ann["soll.dev/hook"], c.hook)
			}
			if w := ann["soll.dev/sync-wave"]; w != c.wave {
				t.Errorf("wave = %q, want %q", w, c.wave)
			}
			if p := ann["soll.dev/hook-delete-policy"]; p != c.delPolicy {
				t.Errorf("delete policy = %q, want %q", p, c.delPolicy)
			}
			phases, _, err := HookPhases(obj)
			if err != nil {
				t.Fatal(err)
			}
			if c.hook != "" {
				var got []string
				for _, p := range phases {
					got = append(got, string(p))
				}
				if strings.Join(got, ",") != c.hook {
					t.Errorf("HookPhases = %v, want %s", phases, c.hook)
				}
			}
		})
	}
}

func TestTranslateHelmHookErrors(t *testing.T) {
	for _, ann := range []map[string]string{
		{HelmHookAnnotation: "pre-instal"},
		{HelmHookAnnotation: "pre-install", HelmHookWeightAnnotation: "heavy"},
		{HelmHookAnnotation: "pre-install", HelmHookDeletePolicyAnnotation: "never"},
	} {
		_, err := TranslateHelmHook(helmHookObj(ann), true)
		if err == nil || !strings.Contains(err.Error(), "batch/Job web/migrate") && !strings.Contains(err.Error(), "migrate") {
			t.Errorf("%v: error = %v, want one naming the object", ann, err)
		}
	}
}
