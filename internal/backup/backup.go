// Package backup writes soll's objects of one namespace (Projects,
// Applications, settings ConfigMaps and Secrets) as one multi-document YAML
// file, and reads such a file back, checked, for a restore into a
// namespace. Secrets are written only encrypted to age recipients; without
// them, repository Secrets are written as references that name what to
// recreate, without any credential.
package backup

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
)

// The kinds of a backup file that are not Kubernetes objects.
const (
	// FileAPIVersion is the apiVersion of SecretReference and
	// EncryptedSecrets documents.
	FileAPIVersion = "backup.soll.dev/v1"
	// KindSecretReference names a repository Secret that was not
	// exported: its name, type, URL and Project, no credential.
	KindSecretReference = "SecretReference"
	// KindEncryptedSecrets holds the exported Secrets as one
	// age-encrypted, armored multi-document YAML.
	KindEncryptedSecrets = "EncryptedSecrets"
)

// PruneOffAnnotation marks an Application whose automated prune a restore
// turned off: it was on in the backup. The controller turns prune on again
// after the Application's first successful comparison.
const PruneOffAnnotation = sollv1.RestorePrunePendingAnnotation

// SettingsConfigMaps are the ConfigMaps of soll's namespace that hold its
// settings: soll-config, the RBAC policy and the SSH known hosts.
var SettingsConfigMaps = []string{sollv1.SettingsConfigMap, "soll-rbac", "soll-ssh-known-hosts"}

// NamedSecrets are the Secrets of soll's namespace that soll reads by name
// (besides those labelled sollv1.SecretTypeLabel): its signing key and SSO
// and webhook secrets, the local accounts and the revoked tokens.
var NamedSecrets = []string{sollv1.SecretName, "soll-accounts", "soll-revoked-tokens"}

// Header describes a backup in the comment at the top of its file.
type Header struct {
	Version   string
	Time      time.Time
	Namespace string
}

// Reference names a repository Secret left out of a backup.
type Reference struct {
	Name       string `json:"name"`
	SecretType string `json:"secretType"`
	URL        string `json:"url,omitempty"`
	Project    string `json:"project,omitempty"`
}

// Clean removes from obj what belongs to the cluster it was read from
// rather than to what it says: status, uid, resourceVersion,
// managedFields, creationTimestamp, generation, owner references, and on
// Applications the operation in flight and the refresh requests.
// Labels, annotations and finalizers are kept, so that an Application's
// cascade deletion survives.
func Clean(obj *unstructured.Unstructured) {
	delete(obj.Object, "status")
	if md, ok := obj.Object["metadata"].(map[string]any); ok {
		for _, f := range []string{"uid", "resourceVersion", "managedFields", "creationTimestamp", "generation", "selfLink", "ownerReferences", "deletionTimestamp", "deletionGracePeriodSeconds", "generateName"} {
			delete(md, f)
		}
		if a, ok := md["annotations"].(map[string]any); ok {
			delete(a, "kubectl.kubernetes.io/last-applied-configuration")
			if obj.GetKind() == "Application" {
				delete(a, sollv1.RefreshAnnotation)
				delete(a, sollv1.RefreshPushAnnotation)
			}
			if len(a) == 0 {
				delete(md, "annotations")
			}
		}
	}
	if obj.GetKind() == "Application" {
		delete(obj.Object, "operation")
	}
}

// ParseRecipients parses age recipients: age1... public keys or SSH public
// keys (ssh-ed25519, ssh-rsa).
func ParseRecipients(keys []string) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, k := range keys {
		k = strings.TrimSpace(k)
		var r age.Recipient
		var err error
		if strings.HasPrefix(k, "ssh-") {
			r, err = agessh.ParseRecipient(k)
		} else {
			r, err = age.ParseX25519Recipient(k)
		}
		if err != nil {
			return nil, fmt.Errorf("--age-recipient %q: %w: pass an age public key (age1...) or an SSH public key (ssh-ed25519 or ssh-rsa)", k, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// ParseIdentities parses an age identity file (AGE-SECRET-KEY-1... lines)
// or an unencrypted SSH private key.
func ParseIdentities(data []byte) ([]age.Identity, error) {
	if bytes.Contains(data, []byte("PRIVATE KEY-----")) {
		id, err := agessh.ParseIdentity(data)
		if err != nil {
			return nil, fmt.Errorf("the SSH private key could not be read (%v): pass an unencrypted key or an age identity file", err)
		}
		return []age.Identity{id}, nil
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("no age identity could be read: %w: pass a file of AGE-SECRET-KEY-1... lines or an SSH private key", err)
	}
	return ids, nil
}

// ReferenceOf describes the repository Secret s without its credentials,
// or returns false when s is not a repository Secret.
func ReferenceOf(s *unstructured.Unstructured) (Reference, bool) {
	typ := s.GetLabels()[sollv1.SecretTypeLabel]
	if typ != sollv1.SecretTypeRepository && typ != sollv1.SecretTypeRepoCreds {
		return Reference{}, false
	}
	data, _, _ := unstructured.NestedStringMap(s.Object, "data")
	dec := func(k string) string {
		b, err := base64.StdEncoding.DecodeString(data[k])
		if err != nil {
			return ""
		}
		return string(b)
	}
	return Reference{Name: s.GetName(), SecretType: typ, URL: dec("url"), Project: dec("project")}, true
}

// Write writes a backup: the header comment, then objs (cleaned) as YAML
// documents, then either the Secrets encrypted to recipients as one
// EncryptedSecrets document, or (without recipients) refs as
// SecretReference documents. secrets must be empty without recipients.
func Write(w io.Writer, h Header, objs, secrets []*unstructured.Unstructured, refs []Reference, recipients []age.Recipient) error {
	if len(secrets) > 0 && len(recipients) == 0 {
		return errors.New("export with secrets: pass --age-recipient, Secrets are only written encrypted")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# soll backup of namespace %s, written by soll %s at %s.\n", h.Namespace, h.Version, h.Time.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "# Restore it with: soll admin import -f FILE -n NAMESPACE\n")
	if err := writeDocs(&b, objs); err != nil {
		return err
	}
	if len(recipients) > 0 {
		var plain bytes.Buffer
		if err := writeDocs(&plain, secrets); err != nil {
			return err
		}
		var enc bytes.Buffer
		aw := armor.NewWriter(&enc)
		ew, err := age.Encrypt(aw, recipients...)
		if err != nil {
			return fmt.Errorf("encrypt the Secrets: %w", err)
		}
		if _, err := ew.Write(plain.Bytes()); err != nil {
			return err
		}
		if err := ew.Close(); err != nil {
			return err
		}
		if err := aw.Close(); err != nil {
			return err
		}
		doc := map[string]any{
			"apiVersion": FileAPIVersion, "kind": KindEncryptedSecrets,
			"metadata":   map[string]any{"namespace": h.Namespace},
			"secrets":    int64(len(secrets)),
			"ciphertext": enc.String(),
		}
		if err := writeDoc(&b, doc); err != nil {
			return err
		}
	} else {
		for _, r := range refs {
			doc := map[string]any{
				"apiVersion": FileAPIVersion, "kind": KindSecretReference,
				"metadata":   map[string]any{"name": r.Name, "namespace": h.Namespace},
				"secretType": r.SecretType,
			}
			if r.URL != "" {
				doc["url"] = r.URL
			}
			if r.Project != "" {
				doc["project"] = r.Project
			}
			if err := writeDoc(&b, doc); err != nil {
				return err
			}
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func writeDocs(b *bytes.Buffer, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		c := o.DeepCopy()
		Clean(c)
		if err := writeDoc(b, c.Object); err != nil {
			return err
		}
	}
	return nil
}

func writeDoc(b *bytes.Buffer, m map[string]any) error {
	y, err := yaml.Marshal(m)
	if err != nil {
		return err
	}
	b.WriteString("---\n")
	b.Write(y)
	return nil
}

// Backup is a backup file read for a restore into one namespace.
type Backup struct {
	// Namespace is the namespace the backup was written from.
	Namespace string
	// Objects are the objects to apply, in order: Projects, Secrets,
	// ConfigMaps, Applications, each moved to the target namespace.
	Objects []*unstructured.Unstructured
	// References are the repository Secrets to recreate by hand.
	References []Reference
	// PruneOff names the Applications whose automated prune was turned off.
	PruneOff []string
	// Encrypted is how many Secrets the file holds encrypted.
	Encrypted int
}

var order = map[string]int{"Project": 0, "Secret": 1, "ConfigMap": 2, "Application": 3}

// Read parses and checks a backup file for a restore into namespace
// target, decrypting its Secrets with ids. It checks everything before it
// returns: an error names the document and the field, and no Backup is
// returned then, so that nothing is applied. Applications lose their
// operation and status, and those with automated prune have it turned off
// and carry PruneOffAnnotation.
func Read(data []byte, target string, ids []age.Identity) (*Backup, error) {
	bk := &Backup{}
	seen := map[string]int{}
	var encrypted []string
	docs, err := splitDocs(data)
	if err != nil {
		return nil, err
	}
	var errs []error
	for i, m := range docs {
		where := fmt.Sprintf("document %d", i+1)
		u := &unstructured.Unstructured{Object: m}
		if err := bk.check(u, where, false, seen); err != nil {
			errs = append(errs, err)
			continue
		}
		switch u.GetAPIVersion() + "/" + u.GetKind() {
		case FileAPIVersion + "/" + KindSecretReference:
			r := Reference{Name: u.GetName()}
			r.SecretType, _, _ = unstructured.NestedString(m, "secretType")
			r.URL, _, _ = unstructured.NestedString(m, "url")
			r.Project, _, _ = unstructured.NestedString(m, "project")
			bk.References = append(bk.References, r)
		case FileAPIVersion + "/" + KindEncryptedSecrets:
			ct, _, _ := unstructured.NestedString(m, "ciphertext")
			if ct == "" {
				errs = append(errs, fmt.Errorf("%s (%s): ciphertext is empty", where, KindEncryptedSecrets))
				continue
			}
			encrypted = append(encrypted, ct)
		default:
			bk.Objects = append(bk.Objects, u)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for j, ct := range encrypted {
		if len(ids) == 0 {
			return nil, errors.New("the backup holds encrypted Secrets: pass --age-identity FILE with a key of one of the recipients it was written for")
		}
		r, err := age.Decrypt(armor.NewReader(strings.NewReader(ct)), ids...)
		if err != nil {
			return nil, fmt.Errorf("decrypt the Secrets: %w: pass the identity of one of the recipients the backup was written for", err)
		}
		plain, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("decrypt the Secrets: %w", err)
		}
		secrets, err := splitDocs(plain)
		if err != nil {
			return nil, fmt.Errorf("the encrypted Secrets: %w", err)
		}
		for i, m := range secrets {
			where := fmt.Sprintf("encrypted block %d, document %d", j+1, i+1)
			u := &unstructured.Unstructured{Object: m}
			if err := bk.check(u, where, true, seen); err != nil {
				errs = append(errs, err)
				continue
			}
			bk.Objects = append(bk.Objects, u)
			bk.Encrypted++
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.SliceStable(bk.Objects, func(a, b int) bool {
		return order[bk.Objects[a].GetKind()] < order[bk.Objects[b].GetKind()]
	})
	for _, u := range bk.Objects {
		Clean(u)
		u.SetNamespace(target)
		if u.GetKind() == "Application" && turnPruneOff(u) {
			bk.PruneOff = append(bk.PruneOff, u.GetName())
		}
	}
	return bk, nil
}

// check checks one document: its kind is one a backup holds (Secrets only
// inside the encrypted block), its name is valid and unique, and its
// namespace is the backup's.
func (bk *Backup) check(u *unstructured.Unstructured, where string, inEncrypted bool, seen map[string]int) error {
	gv, kind, name := u.GetAPIVersion(), u.GetKind(), u.GetName()
	what := where
	if kind != "" {
		what = fmt.Sprintf("%s (%s %s)", where, kind, name)
	}
	switch {
	case inEncrypted && gv == "v1" && kind == "Secret":
	case inEncrypted:
		return fmt.Errorf("%s: the encrypted block holds only Secrets (apiVersion v1, kind Secret), not apiVersion %q kind %q", what, gv, kind)
	case gv == sollv1.GroupVersion.String() && (kind == "Project" || kind == "Application"):
	case gv == "v1" && kind == "ConfigMap":
		if !contains(SettingsConfigMaps, name) {
			return fmt.Errorf("%s: metadata.name: a backup holds only soll's settings ConfigMaps (%s)", what, strings.Join(SettingsConfigMaps, ", "))
		}
	case gv == "v1" && kind == "Secret":
		return fmt.Errorf("%s: a Secret outside the encrypted block: Secrets are restored only from a backup written with --include-secrets and --age-recipient; remove the document", what)
	case gv == FileAPIVersion && kind == KindEncryptedSecrets:
		if _, ok := u.Object["ciphertext"].(string); !ok {
			return fmt.Errorf("%s: ciphertext: missing or not a string", what)
		}
		return bk.checkNamespace(u, what)
	case gv == FileAPIVersion && kind == KindSecretReference:
	default:
		return fmt.Errorf("%s: apiVersion %q kind %q is not part of a soll backup (Projects and Applications of %s, settings ConfigMaps, Secrets, %s and %s of %s)",
			what, gv, kind, sollv1.GroupVersion, KindSecretReference, KindEncryptedSecrets, FileAPIVersion)
	}
	if name == "" {
		return fmt.Errorf("%s: metadata.name is missing", what)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("%s: metadata.name %q is not a valid name: %s", what, name, strings.Join(errs, "; "))
	}
	key := gv + "/" + kind + "/" + name
	if kind == KindSecretReference {
		key = "v1/Secret/" + name
	}
	if prev, ok := seen[key]; ok {
		return fmt.Errorf("%s: %s %s appears twice (also object %d): keep one", what, kind, name, prev)
	}
	seen[key] = len(seen) + 1
	return bk.checkNamespace(u, what)
}

func (bk *Backup) checkNamespace(u *unstructured.Unstructured, what string) error {
	ns := u.GetNamespace()
	if ns == "" {
		return fmt.Errorf("%s: metadata.namespace is missing: a backup names the namespace it was written from", what)
	}
	if bk.Namespace == "" {
		bk.Namespace = ns
	}
	if ns != bk.Namespace {
		return fmt.Errorf("%s: metadata.namespace is %s, the backup's namespace is %s: a backup holds one namespace", what, ns, bk.Namespace)
	}
	return nil
}

// turnPruneOff turns automated prune off on an Application that has it on,
// annotating why, and says whether it did.
func turnPruneOff(u *unstructured.Unstructured) bool {
	prune, _, _ := unstructured.NestedBool(u.Object, "spec", "syncPolicy", "automated", "prune")
	if !prune {
		return false
	}
	_ = unstructured.SetNestedField(u.Object, false, "spec", "syncPolicy", "automated", "prune")
	a := u.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[PruneOffAnnotation] = "true"
	u.SetAnnotations(a)
	return true
}

// splitDocs parses a multi-document YAML stream into objects, skipping
// empty documents.
func splitDocs(data []byte) ([]map[string]any, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []map[string]any
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("document %d: not a YAML object: %w", n, err)
		}
		if len(m) == 0 {
			n--
			continue
		}
		out = append(out, m)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
