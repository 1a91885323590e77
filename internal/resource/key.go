package resource

import (
	"cmp"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	sollv1 "soll.dev/api/v1alpha1"
)

// Key identifies an object independent of its API version.
type Key struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// KeyOf returns the key of obj. An object named by metadata.generateName
// alone (a hook yet to be created) has the key of its generateName
// followed by "*", a character no object name may hold: it names every run
// of the hook and never a real object.
func KeyOf(obj *unstructured.Unstructured) Key {
	gvk := obj.GroupVersionKind()
	name := obj.GetName()
	if name == "" && obj.GetGenerateName() != "" {
		name = obj.GetGenerateName() + generatedMark
	}
	return Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: name}
}

// generatedMark ends the name of the key of an object named by
// generateName.
const generatedMark = "*"

// The API server generates a name from generateName cut to
// maxGeneratedPrefix bytes and randomLength random characters
// (k8s.io/apiserver/pkg/storage/names).
const (
	randomLength       = 5
	maxGeneratedPrefix = 63 - randomLength
)

// GenerateName returns the generateName of the object k is the key of, and
// whether k is the key of an object named by generateName (see KeyOf).
func (k Key) GenerateName() (string, bool) {
	return strings.CutSuffix(k.Name, generatedMark)
}

// Names reports whether k is the key of the object named by key, or, when
// k is the key of an object named by generateName, of one the API server
// created from it: same group, kind and namespace, and a name made of the
// generateName and the API server's random suffix.
func (k Key) Names(key Key) bool {
	if k == key {
		return true
	}
	prefix, generated := k.GenerateName()
	if !generated || k.Group != key.Group || k.Kind != key.Kind || k.Namespace != key.Namespace {
		return false
	}
	if len(prefix) > maxGeneratedPrefix {
		prefix = prefix[:maxGeneratedPrefix]
	}
	suffix, ok := strings.CutPrefix(key.Name, prefix)
	return ok && len(suffix) == randomLength
}

// GroupKind returns the key's group and kind.
func (k Key) GroupKind() schema.GroupKind { return schema.GroupKind{Group: k.Group, Kind: k.Kind} }

// String renders the key as "group/Kind namespace/name" (without empty
// parts), the form used in messages.
func (k Key) String() string {
	var b strings.Builder
	if k.Group != "" {
		b.WriteString(k.Group)
		b.WriteByte('/')
	}
	b.WriteString(k.Kind)
	b.WriteByte(' ')
	if k.Namespace != "" {
		b.WriteString(k.Namespace)
		b.WriteByte('/')
	}
	b.WriteString(k.Name)
	return b.String()
}

// Compare orders keys by group, kind, namespace, name.
func Compare(a, b Key) int {
	return cmp.Or(
		cmp.Compare(a.Group, b.Group),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
	)
}

// TrackingAnnotation marks an object as managed by an Application. Its
// value names the Application and the object's own identity, so a copy of
// the object made by someone else (same annotation, other identity) is
// never mistaken for ours and never pruned.
const TrackingAnnotation = sollv1.TrackingAnnotation

// TrackingID is the value of the tracking annotation for the object key k
// managed by the Application appNamespace/appName.
func TrackingID(appNamespace, appName string, k Key) string {
	return fmt.Sprintf("%s/%s:%s/%s/%s/%s", appNamespace, appName, k.Group, k.Kind, k.Namespace, k.Name)
}

// ParseTrackingID splits a tracking annotation value. ok is false when the
// value is malformed.
func ParseTrackingID(v string) (appNamespace, appName string, k Key, ok bool) {
	app, obj, found := strings.Cut(v, ":")
	if !found {
		return "", "", Key{}, false
	}
	appNamespace, appName, found = strings.Cut(app, "/")
	if !found || appName == "" {
		return "", "", Key{}, false
	}
	parts := strings.Split(obj, "/")
	if len(parts) != 4 || parts[1] == "" || parts[3] == "" {
		return "", "", Key{}, false
	}
	return appNamespace, appName, Key{Group: parts[0], Kind: parts[1], Namespace: parts[2], Name: parts[3]}, true
}

// ManagedBy reports whether live carries a tracking annotation that names
// the Application appNamespace/appName and live's own identity.
func ManagedBy(live *unstructured.Unstructured, appNamespace, appName string) bool {
	v, ok := live.GetAnnotations()[TrackingAnnotation]
	if !ok {
		return false
	}
	ns, name, k, ok := ParseTrackingID(v)
	if !ok || ns != appNamespace || name != appName {
		return false
	}
	if live.GetNamespace() == "" {
		// A cluster-scoped object whose annotation names a namespace
		// was applied when its kind's scope was not known yet (before
		// its CRD was installed). It is no copy: no other object of a
		// cluster-scoped kind can have its name.
		k.Namespace = ""
	}
	return k == KeyOf(live)
}
