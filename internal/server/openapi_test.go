package server

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// wireSchemas are the OpenAPI components and the Go types of
// internal/apitypes they describe.
var wireSchemas = map[string]reflect.Type{
	"Error":                 reflect.TypeFor[apitypes.Error](),
	"ApplicationList":       reflect.TypeFor[apitypes.AppList](),
	"ProjectList":           reflect.TypeFor[apitypes.ProjectList](),
	"SyncRequest":           reflect.TypeFor[apitypes.SyncRequest](),
	"RollbackRequest":       reflect.TypeFor[apitypes.RollbackRequest](),
	"Version":               reflect.TypeFor[apitypes.VersionInfo](),
	"Session":               reflect.TypeFor[apitypes.Session](),
	"Settings":              reflect.TypeFor[apitypes.Settings](),
	"Cluster":               reflect.TypeFor[apitypes.Cluster](),
	"ClusterList":           reflect.TypeFor[apitypes.List[apitypes.Cluster]](),
	"ClusterRequest":        reflect.TypeFor[apitypes.ClusterRequest](),
	"ClusterCredentials":    reflect.TypeFor[apitypes.ClusterCredentials](),
	"ClusterPatch":          reflect.TypeFor[apitypes.ClusterPatch](),
	"ClusterDeleted":        reflect.TypeFor[apitypes.ClusterDeleted](),
	"Repository":            reflect.TypeFor[apitypes.Repository](),
	"RepositoryList":        reflect.TypeFor[apitypes.List[apitypes.Repository]](),
	"ResourceList":          reflect.TypeFor[apitypes.List[sollv1.ResourceStatus]](),
	"HistoryList":           reflect.TypeFor[apitypes.List[sollv1.RevisionHistory]](),
	"Diff":                  reflect.TypeFor[apitypes.Diff](),
	"Tree":                  reflect.TypeFor[apitypes.Tree](),
	"EventList":             reflect.TypeFor[apitypes.List[apitypes.Event]](),
	"Manifests":             reflect.TypeFor[apitypes.Manifests](),
	"LoginRequest":          reflect.TypeFor[apitypes.LoginRequest](),
	"LoginResponse":         reflect.TypeFor[apitypes.LoginResponse](),
	"WebhookResult":         reflect.TypeFor[apitypes.WebhookResult](),
	"RepositoryRequest":     reflect.TypeFor[apitypes.RepositoryRequest](),
	"RepositoryTestRequest": reflect.TypeFor[apitypes.RepositoryTestRequest](),
	"RepositoryTest":        reflect.TypeFor[apitypes.RepositoryTest](),
	"Account":               reflect.TypeFor[apitypes.Account](),
	"AccountList":           reflect.TypeFor[apitypes.List[apitypes.Account]](),
	"AccountRequest":        reflect.TypeFor[apitypes.AccountRequest](),
	"AccountPatch":          reflect.TypeFor[apitypes.AccountPatch](),
	"PasswordChange":        reflect.TypeFor[apitypes.PasswordChange](),
	"TokenRequest":          reflect.TypeFor[apitypes.TokenRequest](),
	"Token":                 reflect.TypeFor[apitypes.Token](),
	"AuditEntry":            reflect.TypeFor[apitypes.AuditEntry](),
	"AuditList":             reflect.TypeFor[apitypes.AuditList](),
}

// TestOpenAPIMatchesWireTypes checks that the hand-written schemas of the
// OpenAPI description name exactly the JSON fields of the wire types, in
// nested objects too, so that neither can change without the other.
func TestOpenAPIMatchesWireTypes(t *testing.T) {
	raw, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]schemaDoc `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	// Components that are not wire types: Kubernetes objects (described
	// by their CRDs) and the event stream (described in words).
	other := []string{"Object", "Application", "Project", "EventStream"}
	for name := range doc.Components.Schemas {
		if wireSchemas[name] == nil && !slices.Contains(other, name) {
			t.Errorf("schema %s: no wire type in internal/apitypes is checked against it; add it to wireSchemas", name)
		}
	}
	for name, typ := range wireSchemas {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("wire type %s has no schema %s in the OpenAPI description", typ, name)
			continue
		}
		checkSchema(t, name, s, typ)
	}
}

// schemaDoc is the part of an OpenAPI schema the check reads.
type schemaDoc struct {
	Ref        string               `json:"$ref"`
	Type       string               `json:"type"`
	Properties map[string]schemaDoc `json:"properties"`
	Items      *schemaDoc           `json:"items"`
}

// checkSchema compares the properties of s with the JSON fields of typ,
// and descends into inline objects; a $ref is checked where it is
// defined, and Kubernetes types described as Object are not compared.
func checkSchema(t *testing.T, at string, s schemaDoc, typ reflect.Type) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
		if s.Items != nil && typ.Kind() == reflect.Slice {
			s = *s.Items
			at += "[]"
		}
		typ = typ.Elem()
	}
	if s.Ref != "" || len(s.Properties) == 0 || typ.Kind() != reflect.Struct {
		return
	}
	fields := jsonFields(typ)
	for prop, ps := range s.Properties {
		ft, ok := fields[prop]
		if !ok {
			t.Errorf("%s.%s is documented but %s has no such JSON field", at, prop, typ)
			continue
		}
		checkSchema(t, at+"."+prop, ps, ft)
	}
	for f := range fields {
		if _, ok := s.Properties[f]; !ok {
			t.Errorf("%s: field %s of %s is not documented", at, f, typ)
		}
	}
}

// jsonFields maps the JSON names of a struct's fields, embedded structs'
// included, to their types.
func jsonFields(typ reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case name == "-":
			continue
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			for n, ft := range jsonFields(f.Type) {
				out[n] = ft
			}
			continue
		case name == "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
