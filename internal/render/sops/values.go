package sops

import (
	"fmt"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
)

// leaf is one encrypted value of a SOPS tree before decryption: the value
// at index i of a mapping (branch) or of a sequence (seq). Decryption
// replaces values in place, so the same position then holds the plaintext.
type leaf struct {
	branch sops.TreeBranch
	seq    []any
	i      int
	before string
}

func (l leaf) value() any {
	if l.branch != nil {
		return l.branch[l.i].Value
	}
	return l.seq[l.i]
}

// encryptedLeaves returns the positions of the values of branches that
// hold ciphertext, the ones decryption will replace. In a document that
// is a Kubernetes object (it has apiVersion and kind), the apiVersion,
// kind and metadata are left out: they name the object and appear in
// soll's status, events and diff headers whatever kind it is, and default
// sops settings encrypt them too. What is left is the object's payload,
// the part that a Secret's diff masks (data, stringData).
func encryptedLeaves(branches sops.TreeBranches) []leaf {
	var out []leaf
	var walk func(v any, add func(string))
	walkBranch := func(b sops.TreeBranch, top bool) {
		object := top && indexOf(b, "apiVersion") >= 0 && indexOf(b, "kind") >= 0
		for i, item := range b {
			if k, ok := item.Key.(string); ok && object && (k == "apiVersion" || k == "kind" || k == "metadata") {
				continue
			}
			walk(item.Value, func(s string) { out = append(out, leaf{branch: b, i: i, before: s}) })
		}
	}
	walk = func(v any, add func(string)) {
		switch v := v.(type) {
		case string:
			if strings.HasPrefix(v, "ENC[") {
				add(v)
			}
		case sops.TreeBranch:
			walkBranch(v, false)
		case []any:
			for i, e := range v {
				walk(e, func(s string) { out = append(out, leaf{seq: v, i: i, before: s}) })
			}
		}
	}
	for _, b := range branches {
		walkBranch(b, true)
	}
	return out
}

// secretValues returns the plaintexts at leaves after decryption, as
// strings; values that did not change were not encrypted.
func secretValues(leaves []leaf) []string {
	var out []string
	for _, l := range leaves {
		var s string
		switch v := l.value().(type) {
		case string:
			s = v
		case time.Time:
			s = v.Format(time.RFC3339)
		case nil, sops.Comment:
			continue
		default:
			s = fmt.Sprint(v)
		}
		if s == l.before {
			continue
		}
		out = append(out, s)
	}
	return out
}
