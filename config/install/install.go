package install

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"soll.dev/config/crd"
)

// Defaults of Options.
const (
	DefaultNamespace = "soll"
	DefaultImage     = "soll:dev"
)

// templateFiles are the templates in the order their objects are applied:
// the namespace before what lives in it.
var templateFiles = []string{"namespace.yaml.tmpl", "rbac.yaml.tmpl", "service.yaml.tmpl", "deployment.yaml.tmpl", "pdb.yaml.tmpl"}

//go:embed *.yaml.tmpl
var templatesFS embed.FS

var templates = template.Must(template.New("install").
	Funcs(template.FuncMap{"quote": quote}).
	ParseFS(templatesFS, "*.yaml.tmpl"))

// Options fill in the templates.
type Options struct {
	// Namespace is soll's namespace: where the controller runs and where
	// Applications, Projects and repository credentials live.
	Namespace string
	// Image is the container image that runs `soll run`.
	Image string
	// ImagePullSecrets name Secrets of soll's namespace with the
	// credentials of a private registry that holds Image.
	ImagePullSecrets []string
	// Replicas is the number of soll's pods; zero means 1. More than one
	// share the applications out (soll run --shard), the API server runs
	// on all, and a PodDisruptionBudget lets one pod at a time be
	// evicted.
	Replicas int
}

func (o Options) validate() error {
	if o.Replicas < 0 {
		return fmt.Errorf("replicas %d is not possible: give 1 or more", o.Replicas)
	}
	if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
		return fmt.Errorf("namespace %q is not a valid namespace name: %s", o.Namespace, strings.Join(errs, "; "))
	}
	if o.Image == "" || strings.ContainsAny(o.Image, " \t\r\n") {
		return fmt.Errorf("image %q is not a valid image reference", o.Image)
	}
	for _, s := range o.ImagePullSecrets {
		if errs := validation.IsDNS1123Subdomain(s); len(errs) > 0 {
			return fmt.Errorf("image pull secret %q is not a valid Secret name: %s", s, strings.Join(errs, "; "))
		}
	}
	return nil
}

// Manifests returns the install manifests, one YAML document per element, in
// the order to apply them: the CRDs first, then the Namespace, the RBAC
// objects, the Service and the Deployment behind it.
func Manifests(o Options) ([][]byte, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	docs, err := crd.CRDs()
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(docs)+8)
	for _, d := range docs {
		out = append(out, trimDocument(d))
	}
	for _, name := range templateFiles {
		var buf bytes.Buffer
		if err := templates.ExecuteTemplate(&buf, name, o); err != nil {
			return nil, fmt.Errorf("render %s: %w", name, err)
		}
		split, err := splitDocuments(buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("split %s: %w", name, err)
		}
		out = append(out, split...)
	}
	return out, nil
}

// Objects returns the install manifests parsed, in the order of Manifests.
func Objects(o Options) ([]*unstructured.Unstructured, error) {
	docs, err := Manifests(o)
	if err != nil {
		return nil, err
	}
	objs := make([]*unstructured.Unstructured, 0, len(docs))
	for _, d := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(d, &u.Object); err != nil {
			return nil, fmt.Errorf("parse install manifest: %w\n%s", err, d)
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("install manifest without apiVersion or kind:\n%s", d)
		}
		objs = append(objs, u)
	}
	return objs, nil
}

// WriteYAML writes docs as one multi-document YAML stream.
func WriteYAML(w io.Writer, docs [][]byte) error {
	for _, d := range docs {
		if _, err := fmt.Fprintf(w, "---\n%s\n", bytes.TrimRight(d, "\n")); err != nil {
			return err
		}
	}
	return nil
}

// splitDocuments splits a multi-document YAML stream, dropping documents
// that hold only comments or whitespace.
func splitDocuments(b []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var docs [][]byte
	for {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if d = trimDocument(d); !onlyComments(d) {
			docs = append(docs, d)
		}
	}
}

// trimDocument removes a leading document separator and surrounding blank
// lines.
func trimDocument(d []byte) []byte {
	d = bytes.TrimSpace(d)
	d = bytes.TrimPrefix(d, []byte("---\n"))
	return append(bytes.TrimSpace(d), '\n')
}

func onlyComments(d []byte) bool {
	for line := range strings.SplitSeq(string(d), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

// quote writes s as a double-quoted YAML (JSON) string.
func quote(s string) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}
