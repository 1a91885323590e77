package helm

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	chart "helm.sh/helm/v4/pkg/chart/v2"

	"soll.dev/internal/render"
	"soll.dev/internal/render/manifest"
)

// validateSchema checks values against the values.schema.json of ch and of
// its subcharts (with their part of the values), as helm does. Unlike helm,
// it resolves no $ref outside the schema itself: helm's validator would
// read files of the controller's machine and fetch URLs.
func validateSchema(ch *chart.Chart, values any) error {
	vals, _ := values.(map[string]any)
	if len(ch.Schema) > 0 {
		if err := validateOne(ch.Schema, vals); err != nil {
			return &render.Error{File: ch.ChartFullPath() + "/values.schema.json", Err: err}
		}
	}
	for _, sub := range ch.Dependencies() {
		raw, ok := vals[sub.Name()]
		if !ok || raw == nil {
			continue
		}
		subVals, ok := raw.(map[string]any)
		if !ok {
			return &render.Error{Err: fmt.Errorf("values of subchart %s must be a mapping", sub.Name())}
		}
		if err := validateSchema(sub, subVals); err != nil {
			return err
		}
	}
	return nil
}

func validateOne(schemaJSON []byte, values map[string]any) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return fmt.Errorf("values.schema.json is not valid JSON: %s", manifest.Sanitize(err.Error()))
	}
	c := jsonschema.NewCompiler()
	// No loader: a $ref to another document fails instead of being read.
	c.UseLoader(jsonschema.SchemeURLLoader{})
	const url = "file:///values.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return fmt.Errorf("values.schema.json: %s", manifest.Sanitize(err.Error()))
	}
	s, err := c.Compile(url)
	if err != nil {
		return fmt.Errorf("values.schema.json does not compile (references to other documents are not followed): %s", manifest.Sanitize(err.Error()))
	}
	if values == nil {
		values = map[string]any{}
	}
	// The validator wants JSON types: numbers as float64 or json.Number,
	// which values decoded from YAML already are; ints from parameters are
	// converted by the library.
	if err := s.Validate(values); err != nil {
		lines := strings.Split(err.Error(), "\n")
		return fmt.Errorf("values do not match values.schema.json: %s", manifest.Sanitize(strings.Join(lines[1:], "; ")))
	}
	return nil
}
