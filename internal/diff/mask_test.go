package diff

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func configMap(data map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "c", "annotations": map[string]any{lastApplied: `{"data":{"PASSWORD":"long-decrypted-value"}}`}},
		"data":     data,
	}}
}

// TestMaskerMasksDecryptedValues: decrypted values are masked in a diff on
// both sides wherever they are, long ones inside longer strings, short ones
// where a string equals them; the live side is masked at the same places
// even when its value is another one.
func TestMaskerMasksDecryptedValues(t *testing.T) {
	m := NewMasker([]string{"long-decrypted-value", "pin9", ""})
	live := configMap(map[string]any{
		"PASSWORD": "old-value-typed-by-hand",
		"URL":      "postgres://app:long-decrypted-value@db/app",
		"PIN":      "pin9",
		"OTHER":    "a pin9 in a sentence",
		"LIST":     []any{"x", "long-decrypted-value"},
	})
	target := configMap(map[string]any{
		"PASSWORD": "long-decrypted-value",
		"URL":      "postgres://app:long-decrypted-value@db/app",
		"PIN":      "pin9",
		"OTHER":    "a pin9 in a sentence",
		"LIST":     []any{"x", "long-decrypted-value"},
	})
	text := unified(live, target, m)
	for _, leak := range []string{"long-decrypted-value", "old-value-typed-by-hand", "PIN: pin9"} {
		if strings.Contains(text, leak) {
			t.Errorf("diff shows %q:\n%s", leak, text)
		}
	}
	for _, want := range []string{"-  PASSWORD: " + maskLive, "+  PASSWORD: " + maskTarget, "URL: " + maskSame, "OTHER: a pin9 in a sentence"} {
		if !strings.Contains(text, want) {
			t.Errorf("diff lacks %q:\n%s", want, text)
		}
	}
	if live.Object["data"].(map[string]any)["PASSWORD"] != "old-value-typed-by-hand" {
		t.Error("MaskPair changed its input")
	}
	plain := configMap(map[string]any{"PIN": "pin9"})
	plain.SetAnnotations(nil)
	if m.Carries(plain) {
		t.Error("a short value counts as carried")
	}
	if !m.Carries(configMap(map[string]any{"X": "prefix long-decrypted-value"})) {
		t.Error("a long value inside a string is not found")
	}
	if NewMasker([]string{""}) != nil || (*Masker)(nil).Mask(target) != target {
		t.Error("a Masker without values masks")
	}
}
