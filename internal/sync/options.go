package sync

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"soll.dev/internal/resource"
)

// objectOption is a per-object sync option soll knows: its name as written
// in the documentation and the values it takes, lower-cased.
type objectOption struct {
	name   string
	values []string
}

// objectOptions are the per-object sync options, soll's own and every one
// Argo CD documents for its annotation. Options soll accepts without effect
// are listed too, so that a repository written for Argo CD raises no
// warnings; docs/user/applications.md says why each changes nothing.
var objectOptions = []objectOption{
	// Honoured.
	{"Prune", []string{"true", "false", "confirm"}},
	{"PruneLast", []string{"true", "false"}},
	{"Delete", []string{"true", "false", "confirm"}}, // read by the controller when the app is deleted
	{"Replace", []string{"true", "false"}},
	{"Force", []string{"true", "false"}},
	{"AdoptExisting", []string{"true", "false"}},
	// Accepted, changing nothing: soll always applies server-side; the
	// API server always validates; soll applies CRDs before their
	// objects and needs no dry run of a missing kind; a Namespace object
	// is created by applying it.
	{"ServerSideApply", []string{"true", "false"}},
	{"ClientSideApplyMigration", []string{"true", "false"}},
	{"Validate", []string{"true", "false"}},
	{"SkipDryRunOnMissingResource", []string{"true", "false"}},
	{"CreateNamespace", []string{"true", "false"}},
}

// syncOptions parses obj's sync options annotation (soll.dev/sync-options,
// or Argo CD's argocd.argoproj.io/sync-options): comma-separated
// Name=value entries, names and values case-insensitive. It returns the
// known options with accepted values, keyed by lower-cased name, values
// lower-cased, and a message for each other entry: an unknown option (a
// typo, another tool's option) or a value the option does not take. Such
// entries are ignored.
func syncOptions(obj *unstructured.Unstructured) (opts map[string]string, problems []string) {
	name, v, ok := annotationOf(obj, syncOptionsAnnotations)
	if !ok {
		return nil, nil
	}
	opts = map[string]string{}
	for _, entry := range strings.Split(v, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		k, val, _ := strings.Cut(entry, "=")
		k, val = strings.ToLower(strings.TrimSpace(k)), strings.ToLower(strings.TrimSpace(val))
		i := slices.IndexFunc(objectOptions, func(o objectOption) bool { return strings.ToLower(o.name) == k })
		switch {
		case i < 0:
			problems = append(problems, fmt.Sprintf("%s: annotation %s: unknown sync option %q, ignored: the options are %s",
				resource.KeyOf(obj), name, entry, optionNames()))
		case !slices.Contains(objectOptions[i].values, val):
			problems = append(problems, fmt.Sprintf("%s: annotation %s: sync option %q, ignored: %s takes %s",
				resource.KeyOf(obj), name, entry, objectOptions[i].name, strings.Join(objectOptions[i].values, ", ")))
		default:
			opts[k] = val
		}
	}
	return opts, problems
}

func optionNames() string {
	names := make([]string, len(objectOptions))
	for i, o := range objectOptions {
		names[i] = o.name
	}
	return strings.Join(names, ", ")
}

// ObjectSyncOption returns the value of the per-object sync option name
// (case-insensitive, such as "AdoptExisting") in obj's sync options
// annotation, lower-cased, and whether obj sets it to a value the option
// takes.
func ObjectSyncOption(obj *unstructured.Unstructured, name string) (string, bool) {
	opts, _ := syncOptions(obj)
	v, ok := opts[strings.ToLower(name)]
	return v, ok
}

// SyncOptionProblems describes the entries of obj's sync options
// annotation that soll ignores: unknown options and values an option does
// not take, naming the object, the annotation and the entry.
func SyncOptionProblems(obj *unstructured.Unstructured) []string {
	_, problems := syncOptions(obj)
	return problems
}

// objectOptionIs reports whether obj's per-object sync option name is set
// to value; when obj does not set it, whether def is.
func objectOptionIs(obj *unstructured.Unstructured, name, value string, def bool) bool {
	if v, ok := ObjectSyncOption(obj, name); ok {
		return v == value
	}
	return def
}
