package appstate

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"soll.dev/internal/health"
)

func TestParseSettings(t *testing.T) {
	def, err := health.New(health.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseSettings(map[string]string{
		"resource.customizations.health.ConfigMap": `hs = {}
if obj.data ~= nil and obj.data.mode == "broken" then
  hs.status = "Degraded"; hs.message = "mode is broken"
else
  hs.status = "Healthy"
end
return hs`,
		"resource.customizations.ignoreDifferences.apps_Deployment": "jsonPointers: [/spec/replicas]",
		"resource.customizations.ignoreDifferences.all":             "managedFieldsManagers: [kube-controller-manager]",
		"unrelated.key": "x",
	}, def)
	if err != nil {
		t.Fatal(err)
	}
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "a"}, "data": map[string]any{"mode": "broken"}}}
	if r, _ := s.health.Check(cm); r.Status != health.Degraded || r.Message != "mode is broken" {
		t.Errorf("custom health check not used: %+v", r)
	}
	// Keys are read in sorted order: "all" before "apps_Deployment".
	if len(s.ignore) != 2 || s.ignore[0].Group != "*" || s.ignore[1].Group != "apps" || s.ignore[1].Kind != "Deployment" {
		t.Errorf("ignore rules: %+v", s.ignore)
	}

	// Without scripts the default checker is kept.
	s, err = parseSettings(nil, def)
	if err != nil || s.health != def {
		t.Errorf("empty settings: %v %v", s, err)
	}

	for key, value := range map[string]string{
		"resource.customizations.ignoreDifferences.apps_Deployment": "jsonPointer: [/spec]",
		"resource.customizations.ignoreDifferences._":               "jsonPointers: [/spec]",
		"resource.customizations.health.apps_Deployment":            "this is not lua (",
		"resource.customizations.ignoreDifferences.ConfigMap":       "jqPathExpressions: ['.data | (']",
	} {
		_, err := parseSettings(map[string]string{key: value}, def)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: want an error naming the key, got %v", key, value, err)
		}
	}
}
