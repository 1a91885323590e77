package backup

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func obj(t *testing.T, text string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(text), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

const app = `
apiVersion: soll.dev/v1alpha1
kind: Application
metadata:
  name: web
  namespace: soll
  uid: 0f1e
  resourceVersion: "42"
  generation: 3
  creationTimestamp: "2026-01-01T00:00:00Z"
  managedFields: [{manager: x}]
  ownerReferences: [{name: parent}]
  finalizers: [soll.dev/resources-finalizer]
  labels: {team: a}
  annotations: {soll.dev/refresh: hard, soll.dev/refresh-push: abc, keep: me}
spec:
  project: default
  syncPolicy: {automated: {prune: true}}
operation: {sync: {}}
status: {sync: {status: Synced}}
`

func TestCleanKeepsWhatTheObjectSays(t *testing.T) {
	u := obj(t, app)
	Clean(u)
	md := u.Object["metadata"].(map[string]any)
	for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "ownerReferences"} {
		if _, ok := md[f]; ok {
			t.Errorf("metadata.%s kept", f)
		}
	}
	for _, f := range []string{"status", "operation"} {
		if _, ok := u.Object[f]; ok {
			t.Errorf("%s kept", f)
		}
	}
	if got := u.GetAnnotations(); len(got) != 1 || got["keep"] != "me" {
		t.Errorf("annotations %v, want only the user's", got)
	}
	if u.GetLabels()["team"] != "a" || len(u.GetFinalizers()) != 1 || u.GetNamespace() != "soll" {
		t.Errorf("labels, finalizers or namespace lost: %v", u.Object)
	}
	// Clean keeps an operation on other kinds: only Applications have one
	// that soll runs.
	cm := obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: soll-config, namespace: soll}\noperation: x\n")
	Clean(cm)
	if _, ok := cm.Object["operation"]; !ok {
		t.Error("a ConfigMap's field operation was removed")
	}
}

func secret(name, typ string, data map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": name, "namespace": "soll"}}}
	if typ != "" {
		u.SetLabels(map[string]string{"soll.dev/secret-type": typ})
	}
	d := map[string]any{}
	for k, v := range data {
		d[k] = encode(v)
	}
	u.Object["data"] = d
	return u
}

func encode(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestWriteAndReadWithEncryptedSecrets(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	recipients, err := ParseRecipients([]string{id.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	proj := obj(t, "apiVersion: soll.dev/v1alpha1\nkind: Project\nmetadata: {name: default, namespace: soll}\nspec: {sourceRepos: ['*']}\n")
	s := secret("repo", "repository", map[string]string{"url": "https://git.example.com/a.git", "password": "s3cret-value"})
	var b bytes.Buffer
	h := Header{Version: "v1.2.3", Time: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), Namespace: "soll"}
	if err := Write(&b, h, []*unstructured.Unstructured{obj(t, app), proj}, []*unstructured.Unstructured{s}, nil, recipients); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if !strings.HasPrefix(text, "# soll backup of namespace soll, written by soll v1.2.3 at 2026-12-07T10:00:00Z.\n") {
		t.Errorf("header:\n%s", text)
	}
	if strings.Contains(text, "s3cret-value") || strings.Contains(text, encode("s3cret-value")) {
		t.Fatalf("the Secret's value is in clear:\n%s", text)
	}
	if _, err := Read(b.Bytes(), "other", nil); err == nil || !strings.Contains(err.Error(), "--age-identity") {
		t.Fatalf("read without identity: %v", err)
	}
	other, _ := age.GenerateX25519Identity()
	if _, err := Read(b.Bytes(), "other", []age.Identity{other}); err == nil || !strings.Contains(err.Error(), "decrypt the Secrets") {
		t.Fatalf("read with a wrong identity: %v", err)
	}
	bk, err := Read(b.Bytes(), "other", []age.Identity{id})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, u := range bk.Objects {
		kinds = append(kinds, u.GetKind()+"/"+u.GetName()+"@"+u.GetNamespace())
	}
	if got, want := strings.Join(kinds, " "), "Project/default@other Secret/repo@other Application/web@other"; got != want {
		t.Errorf("objects %s, want %s in apply order", got, want)
	}
	if bk.Namespace != "soll" || bk.Encrypted != 1 || len(bk.PruneOff) != 1 || bk.PruneOff[0] != "web" {
		t.Errorf("backup %+v", bk)
	}
	web := bk.Objects[2]
	if prune, _, _ := unstructured.NestedBool(web.Object, "spec", "syncPolicy", "automated", "prune"); prune || web.GetAnnotations()[PruneOffAnnotation] == "" {
		t.Errorf("web: prune %v, annotations %v", prune, web.GetAnnotations())
	}
	if pw, _, _ := unstructured.NestedString(bk.Objects[1].Object, "data", "password"); pw != encode("s3cret-value") {
		t.Errorf("decrypted password %q", pw)
	}
}

func TestWriteReferencesWithoutSecrets(t *testing.T) {
	s := secret("repo", "repository", map[string]string{"url": "https://git.example.com/a.git", "project": "team", "password": "s3cret-value"})
	ref, ok := ReferenceOf(s)
	if !ok || ref != (Reference{Name: "repo", SecretType: "repository", URL: "https://git.example.com/a.git", Project: "team"}) {
		t.Fatalf("reference %+v %v", ref, ok)
	}
	if _, ok := ReferenceOf(secret("soll-accounts", "", nil)); ok {
		t.Error("the accounts Secret became a repository reference")
	}
	if err := Write(&bytes.Buffer{}, Header{Namespace: "soll"}, nil, []*unstructured.Unstructured{s}, nil, nil); err == nil {
		t.Fatal("Secrets written without recipients")
	}
	var b bytes.Buffer
	if err := Write(&b, Header{Namespace: "soll"}, nil, nil, []Reference{ref}, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "s3cret") {
		t.Fatalf("a reference holds the password:\n%s", b.String())
	}
	bk, err := Read(b.Bytes(), "soll", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bk.Objects) != 0 || len(bk.References) != 1 || bk.References[0] != ref {
		t.Errorf("backup %+v", bk)
	}
}

func TestReadRejectsBadDocuments(t *testing.T) {
	const proj = "apiVersion: soll.dev/v1alpha1\nkind: Project\nmetadata: {name: default, namespace: soll}\n"
	for _, tc := range []struct{ name, text, want string }{
		{"foreign kind", proj + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x, namespace: soll}\n",
			`document 2 (Deployment x): apiVersion "apps/v1" kind "Deployment" is not part of a soll backup`},
		{"other namespace", proj + "---\napiVersion: soll.dev/v1alpha1\nkind: Application\nmetadata: {name: web, namespace: prod}\n",
			"document 2 (Application web): metadata.namespace is prod, the backup's namespace is soll"},
		{"no namespace", "apiVersion: soll.dev/v1alpha1\nkind: Application\nmetadata: {name: web}\n",
			"document 1 (Application web): metadata.namespace is missing"},
		{"bad name", "apiVersion: soll.dev/v1alpha1\nkind: Application\nmetadata: {name: Web_App, namespace: soll}\n",
			`document 1 (Application Web_App): metadata.name "Web_App" is not a valid name`},
		{"no name", "apiVersion: soll.dev/v1alpha1\nkind: Application\nmetadata: {namespace: soll}\n",
			"document 1 (Application ): metadata.name is missing"},
		{"twice", proj + "---\n" + proj, "document 2 (Project default): Project default appears twice"},
		{"clear secret", "apiVersion: v1\nkind: Secret\nmetadata: {name: repo, namespace: soll}\ndata: {password: eA==}\n",
			"document 1 (Secret repo): a Secret outside the encrypted block"},
		{"other configmap", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-root-ca.crt, namespace: soll}\n",
			"document 1 (ConfigMap kube-root-ca.crt): metadata.name: a backup holds only soll's settings ConfigMaps"},
		{"not yaml", "apiVersion: [\n", "document 1: not a YAML object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bk, err := Read([]byte(tc.text), "soll", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, %v; want an error containing %q", bk, err, tc.want)
			}
			if bk != nil {
				t.Error("a Backup came back with the error: it could be applied")
			}
			if strings.Contains(err.Error(), "eA==") {
				t.Error("the error shows a Secret value")
			}
		})
	}
}

func TestParseRecipientsAndIdentities(t *testing.T) {
	if _, err := ParseRecipients([]string{"age1nope"}); err == nil || !strings.Contains(err.Error(), "--age-recipient") {
		t.Errorf("bad recipient: %v", err)
	}
	if _, err := ParseRecipients([]string{"ssh-ed25519 AAAAnope"}); err == nil {
		t.Error("bad SSH recipient accepted")
	}
	if _, err := ParseIdentities([]byte("AGE-SECRET-KEY-1NOPE\n")); err == nil {
		t.Error("bad identity accepted")
	}
	// An SSH key pair works as recipient and identity.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseRecipients([]string{string(ssh.MarshalAuthorizedKey(sshPub))})
	if err != nil {
		t.Fatal(err)
	}
	sshIDs, err := ParseIdentities(pem.EncodeToMemory(block))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	s := secret("soll-accounts", "", map[string]string{"accounts": "x"})
	if err := Write(&b, Header{Namespace: "soll"}, nil, []*unstructured.Unstructured{s}, nil, rs); err != nil {
		t.Fatal(err)
	}
	if bk, err := Read(b.Bytes(), "soll", sshIDs); err != nil || bk.Encrypted != 1 {
		t.Fatalf("read with the SSH identity: %v %v", bk, err)
	}

	id, _ := age.GenerateX25519Identity()
	ids, err := ParseIdentities([]byte("# key\n" + id.String() + "\n"))
	if err != nil || len(ids) != 1 {
		t.Errorf("identity file: %v %v", ids, err)
	}
}
