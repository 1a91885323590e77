package sops

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"filippo.io/age"
	sopsage "github.com/getsops/sops/v3/age"
)

// SecretName is the name of the Secret, in soll's namespace, that holds the
// age keys soll decrypts with. Every data key of the Secret is read.
const SecretName = "soll-sops-keys"

// New returns a Decrypter with the age secret keys in keys. Each string may
// hold several keys, one or more a line, with empty lines and lines starting
// with "#" ignored: the format of an age keys.txt.
func New(keys ...string) (*Decrypter, error) {
	d := &Decrypter{source: "the configured age keys"}
	for i, k := range keys {
		if err := d.add(k, fmt.Sprintf("age key %d", i+1)); err != nil {
			return nil, err
		}
	}
	if len(d.ids) == 0 {
		return nil, errors.New("no age secret key given: expected lines like AGE-SECRET-KEY-1...")
	}
	return d, nil
}

// NoKeys returns a Decrypter without keys, for when the Secret SecretName
// does not exist: it passes files that are not SOPS-encrypted through and
// refuses the others with ErrNoKey, saying where keys belong, so that
// encrypted values are never applied as they are.
func NoKeys(namespace string) *Decrypter {
	return &Decrypter{source: fmt.Sprintf("Secret %s/%s", namespace, SecretName)}
}

// FromSecretData returns a Decrypter with the age secret keys in the data of
// the Secret SecretName: each value holds keys the way New's arguments do.
func FromSecretData(data map[string][]byte) (*Decrypter, error) {
	d := &Decrypter{source: "Secret " + SecretName}
	for _, name := range slices.Sorted(maps.Keys(data)) {
		if err := d.add(string(data[name]), fmt.Sprintf("Secret %s, data key %q", SecretName, name)); err != nil {
			return nil, err
		}
	}
	if len(d.ids) == 0 {
		return nil, fmt.Errorf("Secret %s holds no age secret key: add one (the output of age-keygen) under any data key", SecretName)
	}
	return d, nil
}

// add parses the keys in text, described by where for errors. Errors never
// quote text: a malformed line may still be most of a secret key.
func (d *Decrypter) add(text, where string) error {
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, field := range strings.Fields(line) {
			id, recipient, err := parseIdentity(field)
			if err != nil {
				return fmt.Errorf("%s, line %d: %w", where, n+1, err)
			}
			d.ids = append(d.ids, id)
			d.recipients = append(d.recipients, recipient)
		}
	}
	return nil
}

// parseIdentity parses one age secret key and returns it with its public key.
// Plugin identities are refused: they run a program of the key's choosing.
func parseIdentity(s string) (age.Identity, string, error) {
	switch {
	case strings.HasPrefix(s, "AGE-PLUGIN-"):
		return nil, "", errors.New("age plugin identities are not supported: use a native age key (age-keygen)")
	case strings.HasPrefix(s, "AGE-SECRET-KEY-PQ-1"):
		id, err := age.ParseHybridIdentity(s)
		if err != nil {
			return nil, "", errors.New("malformed post-quantum age secret key")
		}
		return id, id.Recipient().String(), nil
	case strings.HasPrefix(s, "AGE-SECRET-KEY-1"):
		id, err := age.ParseX25519Identity(s)
		if err != nil {
			return nil, "", errors.New("malformed age secret key")
		}
		return id, id.Recipient().String(), nil
	default:
		return nil, "", errors.New("not an age secret key: expected AGE-SECRET-KEY-1... (comments start with #)")
	}
}

// identities returns the parsed keys in the form the SOPS age key source
// takes them.
func (d *Decrypter) identities() sopsage.ParsedIdentities {
	return sopsage.ParsedIdentities(d.ids)
}
