package helm_test

import (
	"fmt"

	"soll.dev/internal/render"
)

// chartYAML is the Chart.yaml of a chart without dependencies.
func chartYAML(name, version string) string {
	return fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\n", name, version)
}

// configMap is a template rendering one ConfigMap named name with data
// key=value.
func configMap(name, key, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  %s: %s\n", name, key, value)
}

// summary lists objects as "Kind/name file" lines, for comparisons.
func summary(res *render.Result) []string {
	var out []string
	for _, o := range res.Objects {
		out = append(out, fmt.Sprintf("%s/%s %s", o.Unstructured.GetKind(), o.Unstructured.GetName(), o.Origin.File))
	}
	return out
}
