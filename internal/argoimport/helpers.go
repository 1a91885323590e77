package argoimport

import (
	"encoding/json"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

func unstructuredOf(m map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: m}
}

// jsonRaw encodes v (a decoded YAML value) as a RawExtension.
func jsonRaw(v any) (*runtime.RawExtension, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &runtime.RawExtension{Raw: b}, nil
}

// duration reads a Go duration ("5s", "1h30m"), or a number of seconds as
// Argo CD also accepts for retry backoffs.
func duration(n *node, key string) *metav1.Duration {
	if !n.has(key) {
		return nil
	}
	s := n.str(key)
	if d, err := time.ParseDuration(s); err == nil {
		return &metav1.Duration{Duration: d}
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil && secs >= 0 {
		return &metav1.Duration{Duration: time.Duration(secs) * time.Second}
	}
	n.c.errorf(n.field(key), "%q is not a duration: write it as 5s, 3m or 1h", s)
	return nil
}
