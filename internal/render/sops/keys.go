package sops

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"filippo.io/age"
	sopsage "github.com/getsops/sops/v3/age"

	sollv1 "soll.dev/api/v1alpha1"
)

// Where soll finds age keys. Keys are Secrets in soll's namespace: the
// Secret SecretName and every Secret labelled SecretTypeLabel=SecretType.
// Every data key of such a Secret is read. A Secret's keys serve only the
// Projects its annotation ProjectsAnnotation names: the apps of other
// Projects never decrypt with them.
const (
	// SecretName is the name of the Secret, in soll's namespace, that
	// holds age keys without needing a label.
	SecretName = "soll-sops-keys"
	// SecretTypeLabel and SecretType label further Secrets of age keys,
	// the label repository Secrets use with other values.
	SecretTypeLabel = sollv1.SecretTypeLabel
	SecretType      = sollv1.SecretTypeSOPSKeys
	// ProjectsAnnotation lists, comma-separated, the Projects whose apps
	// may decrypt with a Secret's keys; AllProjects shares them with every
	// Project. Without it, the keys serve no Project.
	ProjectsAnnotation = sollv1.SOPSProjectsAnnotation
	AllProjects        = "*"
)

// New returns a Decrypter with the age secret keys in keys. Each string may
// hold several keys, one or more a line, with empty lines and lines starting
// with "#" ignored: the format of an age keys.txt.
func New(keys ...string) (*Decrypter, error) {
	d := &Decrypter{owner: "soll", where: "the configured age keys"}
	for i, k := range keys {
		if err := d.add(k, fmt.Sprintf("age key %d", i+1)); err != nil {
			return nil, err
		}
	}
	if len(d.ids) == 0 {
		return nil, errors.New("no age secret key given: expected lines that start with AGE-SECRET-KEY-1")
	}
	return d, nil
}

// KeySecret is one Secret of age keys, parsed, with the Projects it serves.
type KeySecret struct {
	// Name is the Secret's namespace/name.
	Name string
	// Projects are the Projects named by its annotation ProjectsAnnotation
	// (AllProjects: every one).
	Projects []string
	// Err, when set, says why the Secret's keys cannot be used. It never
	// quotes key material.
	Err error

	keys *Decrypter
}

// ParseKeySecret parses the Secret namespace/name of age keys, with its
// annotations and data: each data value holds keys the way New's arguments
// do. A malformed Secret is returned with Err set, so that it fails only
// the renders of the Projects it serves.
func ParseKeySecret(namespace, name string, annotations map[string]string, data map[string][]byte) *KeySecret {
	k := &KeySecret{Name: namespace + "/" + name, keys: &Decrypter{}}
	for p := range strings.SplitSeq(annotations[ProjectsAnnotation], ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(k.Projects, p) {
			k.Projects = append(k.Projects, p)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(data)) {
		if err := k.keys.add(string(data[key]), fmt.Sprintf("Secret %s, data key %q", k.Name, key)); err != nil {
			k.Err = err
			return k
		}
	}
	if len(k.keys.ids) == 0 {
		k.Err = fmt.Errorf("the Secret %s holds no age secret key: add one (the output of age-keygen) under any data key", k.Name)
	}
	return k
}

// Serves reports whether the apps of project may decrypt with k's keys.
func (k *KeySecret) Serves(project string) bool {
	return slices.Contains(k.Projects, AllProjects) || slices.Contains(k.Projects, project)
}

// ForProject returns the Decrypter of the apps of project: the keys of the
// secrets that serve it, and no other. Secrets that serve other Projects
// are ignored, even malformed ones; a malformed Secret that serves project
// is an error. A project without keys gets a Decrypter that passes plain
// files through and refuses encrypted ones, saying where keys belong.
// namespace is soll's, for messages.
func ForProject(namespace, project string, secrets []*KeySecret) (*Decrypter, error) {
	d := &Decrypter{
		owner: "project " + project,
		where: fmt.Sprintf("a Secret for project %s: the Secret %s/%s or a Secret in namespace %s labelled %s=%s, with the annotation %s listing %s (or %q to share the keys with every project)",
			project, namespace, SecretName, namespace, SecretTypeLabel, SecretType, ProjectsAnnotation, project, AllProjects),
	}
	var unscoped []string
	secrets = slices.SortedFunc(slices.Values(secrets), func(a, b *KeySecret) int { return strings.Compare(a.Name, b.Name) })
	for _, k := range secrets {
		if len(k.Projects) == 0 {
			unscoped = append(unscoped, k.Name)
		}
		if !k.Serves(project) {
			continue
		}
		if k.Err != nil {
			return nil, k.Err
		}
		d.ids = append(d.ids, k.keys.ids...)
		d.recipients = append(d.recipients, k.keys.recipients...)
	}
	if len(unscoped) > 0 {
		d.note = fmt.Sprintf(" (Secret %s has no annotation %s, so its keys serve no project)", strings.Join(unscoped, ", Secret "), ProjectsAnnotation)
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
