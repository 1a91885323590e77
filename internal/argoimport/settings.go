package argoimport

import (
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/rbac"
)

const (
	healthPrefix = "resource.customizations.health."
	ignorePrefix = "resource.customizations.ignoreDifferences."
)

func configMap(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Data:       map[string]string{},
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// argoCM converts the settings of argocd-cm that soll has into its
// ConfigMap soll-config, and notes the rest.
func (c *converter) argoCM(in Input) {
	oc := c.begin(in)
	n := oc.root(in.Object, "")
	data := n.strMap("data")
	out := configMap(c.o.Namespace, sollv1.SettingsConfigMap)
	for _, k := range sortedKeys(data) {
		v := data[k]
		field := "data." + k
		switch {
		case strings.HasPrefix(k, healthPrefix):
			out.Data[k] = v
		case strings.HasPrefix(k, ignorePrefix):
			if err := checkIgnoreRule(v); err != nil {
				oc.note(NoEquivalent, field, "%v; the rule is left out: write it with jsonPointers, jqPathExpressions and managedFieldsManagers only", err)
				continue
			}
			out.Data[k] = v
		case k == "resource.customizations":
			c.legacyCustomizations(oc, field, v, out.Data)
		case strings.HasPrefix(k, "accounts."):
			acct := strings.TrimPrefix(k, "accounts.")
			acct = strings.TrimSuffix(acct, ".enabled")
			if !c.accounts[acct] {
				c.accounts[acct] = true
				oc.note(NoEquivalent, field, "create the local account %s in soll (see soll account --help); the RBAC policy names it user:%s", acct, acct)
			}
		case k == "resource.exclusions" || k == "resource.inclusions":
			oc.note(NoEquivalent, field, "soll watches only the kinds its applications render and never lists other resources, so it needs no exclusions; the setting is left out")
		case strings.HasPrefix(k, "resource.customizations.actions.") || strings.HasPrefix(k, "resource.customizations.useOpenLibs."):
			oc.note(NoEquivalent, field, "soll has no resource actions; the script is left out")
		case strings.HasPrefix(k, "resource.customizations.ignoreResourceUpdates.") || strings.HasPrefix(k, "resource.customizations.knownTypeFields."):
			oc.note(NoEquivalent, field, "soll has no equivalent; the setting is left out")
		case k == "url" || k == "oidc.config" || k == "dex.config" || strings.HasPrefix(k, "users."):
			oc.note(NoEquivalent, field, "configure soll's own URL and SSO (see soll run --help and the authentication guide); the setting is left out")
		case k == "application.instanceLabelKey" || k == "application.resourceTrackingMethod":
			oc.note(NoEquivalent, field, "soll tracks objects with its annotation %s; imported apps adopt the objects Argo CD deployed at their first sync (syncOptions.adoptExisting)", sollv1.TrackingAnnotation)
		case k == "timeout.reconciliation":
			oc.note(NoEquivalent, field, "set spec.refreshInterval on the apps, or soll's refresh interval (soll run --help)")
		case k == "kustomize.buildOptions":
			oc.note(NoEquivalent, field, "soll runs its built-in Kustomize without options; for --enable-helm set spec.source.kustomize.enableHelm on the apps that need it")
		case k == "configManagementPlugins":
			oc.note(NoEquivalent, field, "define the plugins in soll's settings (ConfigMap %s, key plugins.yaml)", sollv1.SettingsConfigMap)
		default:
			oc.note(NoEquivalent, field, "soll has no equivalent of this setting; it is left out")
		}
	}
	n.ignore("apiVersion", "kind", "metadata")
	n.rest()
	c.endConfig(in, oc, out)
}

// endConfig is end for a converted ConfigMap, nil when it has no data.
func (c *converter) endConfig(in Input, oc *objConv, out *corev1.ConfigMap) {
	if out == nil || len(out.Data) == 0 {
		c.end(in, oc, nil)
		return
	}
	c.end(in, oc, out)
}

// checkIgnoreRule checks an ignore rule as soll reads it.
func checkIgnoreRule(v string) error {
	var rule struct {
		JSONPointers          []string `json:"jsonPointers"`
		JQPathExpressions     []string `json:"jqPathExpressions"`
		ManagedFieldsManagers []string `json:"managedFieldsManagers"`
	}
	return yaml.UnmarshalStrict([]byte(v), &rule)
}

// legacyCustomizations converts the single key resource.customizations of
// older Argo CD versions, a map from "<group>/<Kind>" to health.lua,
// ignoreDifferences and actions, into the per-kind keys.
func (c *converter) legacyCustomizations(oc *objConv, field, v string, out map[string]string) {
	var m map[string]map[string]any
	if err := yaml.Unmarshal([]byte(v), &m); err != nil {
		oc.errorf(field, "not a map of <group>/<Kind> to customizations: %v", err)
		return
	}
	for _, gk := range sortedKeys(m) {
		key := strings.TrimPrefix(strings.ReplaceAll(gk, "/", "_"), "_")
		for _, k := range sortedKeys(m[gk]) {
			val := m[gk][k]
			f := field + "." + gk + "." + k
			s, isString := val.(string)
			switch {
			case k == "health.lua" && isString:
				out[healthPrefix+key] = s
				oc.note(Changed, f, "written as key %s%s", healthPrefix, key)
			case k == "ignoreDifferences" && isString:
				if err := checkIgnoreRule(s); err != nil {
					oc.note(NoEquivalent, f, "%v; the rule is left out", err)
					continue
				}
				out[ignorePrefix+key] = s
				oc.note(Changed, f, "written as key %s%s", ignorePrefix, key)
			default:
				oc.note(NoEquivalent, f, "soll has no equivalent; it is left out")
			}
		}
	}
}

// rbacCM converts argocd-rbac-cm into soll-rbac.
func (c *converter) rbacCM(in Input) {
	oc := c.begin(in)
	n := oc.root(in.Object, "")
	data := n.strMap("data")
	n.ignore("apiVersion", "kind", "metadata")
	n.rest()
	out := configMap(c.o.Namespace, RBACConfigMap)
	if data["policy.matchMode"] == "regex" {
		oc.note(NoEquivalent, "data.policy.matchMode", "soll's objects are globs in which only * is special: the regular expressions are copied as they are; rewrite them as globs")
	}
	// policy.csv, then the overlays policy.<name>.csv, as Argo CD
	// concatenates them.
	keys := []string{}
	if _, ok := data["policy.csv"]; ok {
		keys = append(keys, "policy.csv")
	}
	for _, k := range sortedKeys(data) {
		if strings.HasPrefix(k, "policy.") && strings.HasSuffix(k, ".csv") && k != "policy.csv" {
			keys = append(keys, k)
		}
	}
	var lines []string
	for _, k := range keys {
		for i, line := range strings.Split(data[k], "\n") {
			field := fmt.Sprintf("data.%s line %d", k, i+1)
			for _, t := range c.translateLine(oc, field, line) {
				if _, err := rbac.Parse(rbac.Policy{CSV: t}); err != nil {
					oc.note(NoEquivalent, field, "%s; the line %q is left out", lineProblem(err), t)
					continue
				}
				lines = append(lines, t)
			}
		}
	}
	if len(lines) > 0 {
		out.Data[rbac.KeyPolicy] = strings.Join(lines, "\n") + "\n"
	}
	if def := strings.TrimSpace(data["policy.default"]); def != "" {
		if !strings.HasPrefix(def, "role:") {
			def = "role:" + def
		}
		if _, err := rbac.Parse(rbac.Policy{CSV: out.Data[rbac.KeyPolicy], Default: def}); err != nil {
			oc.note(NoEquivalent, "data.policy.default", "%v; left out", err)
		} else {
			out.Data[rbac.KeyDefault] = def
		}
	}
	if s := data["scopes"]; s != "" {
		oc.note(NoEquivalent, "data.scopes", "soll reads the groups claim of the identity provider's tokens; other scopes (%s) are left out: name SSO users as sso:<email or sub> in the policy", s)
	}
	for _, k := range sortedKeys(data) {
		if k != "policy.default" && k != "scopes" && k != "policy.matchMode" && !(strings.HasPrefix(k, "policy.") && strings.HasSuffix(k, ".csv")) {
			oc.note(NoEquivalent, "data."+k, "soll has no equivalent of this setting; it is left out")
		}
	}
	c.endConfig(in, oc, out)
}

func lineProblem(err error) string {
	var le *rbac.LineError
	if errors.As(err, &le) {
		return le.Problem
	}
	return err.Error()
}

// knownHostsCM converts argocd-ssh-known-hosts-cm.
func (c *converter) knownHostsCM(in Input) {
	oc := c.begin(in)
	n := oc.root(in.Object, "")
	data := n.strMap("data")
	n.ignore("apiVersion", "kind", "metadata")
	n.rest()
	out := configMap(c.o.Namespace, KnownHostsConfigMap)
	for _, k := range sortedKeys(data) {
		if k == knownHostsKey {
			out.Data[k] = data[k]
		} else {
			oc.note(NoEquivalent, "data."+k, "soll reads the known hosts from the key %s only; left out", knownHostsKey)
		}
	}
	c.endConfig(in, oc, out)
}

// repoKeys maps the data keys of Argo CD's repository Secrets to soll's.
var repoKeys = map[string]string{
	"url": "url", "username": "username", "password": "password", "bearerToken": "bearerToken",
	"sshPrivateKey": "sshPrivateKey", "tlsClientCertData": "tlsClientCert", "tlsClientCertKey": "tlsClientKey",
	"project": "project",
}

// repoKeyAdvice says what to do about the keys soll has no equivalent of.
var repoKeyAdvice = map[string]string{
	"name":                       "soll names repositories by URL; the display name is left out",
	"type":                       "soll tells Git from Helm repositories by the source (path or chart); the type is left out",
	"enableOCI":                  "soll reads Helm charts from Helm repositories over HTTP(S) only; OCI registries are not supported yet",
	"insecure":                   "soll never skips TLS or host key verification: add the server's CA as caCert, or its SSH host key to the ConfigMap " + KnownHostsConfigMap,
	"insecureIgnoreHostKey":      "soll never skips host key verification: add the host key to the ConfigMap " + KnownHostsConfigMap,
	"forceHttpBasicAuth":         "soll sends basic auth when asked; the flag is left out",
	"enableLfs":                  "soll does not fetch Git LFS files; the flag is left out",
	"proxy":                      "soll uses the proxy of its environment (HTTPS_PROXY); the per-repository proxy is left out",
	"noProxy":                    "soll uses the proxy of its environment (NO_PROXY); left out",
	"githubAppID":                "soll has no GitHub App authentication yet: save a token as password instead",
	"githubAppInstallationID":    "soll has no GitHub App authentication yet: save a token as password instead",
	"githubAppPrivateKey":        "soll has no GitHub App authentication yet: save a token as password instead",
	"githubAppEnterpriseBaseUrl": "soll has no GitHub App authentication yet: save a token as password instead",
	"gcpServiceAccountKey":       "soll has no Google Cloud authentication yet: save a token as password instead",
	"useAzureWorkloadIdentity":   "soll has no Azure workload identity authentication yet: save a token as password instead",
}

// secret converts Argo CD's repository and credential-template Secrets,
// notes its cluster Secrets and other Secrets of its namespace, and keeps
// other Secrets unchanged. Values are never written into the report or
// errors.
func (c *converter) secret(in Input) {
	labels, _ := metaOf(in.Object)["labels"].(map[string]any)
	typ, _ := labels[ArgoSecretTypeLabel].(string)
	switch typ {
	case "repository", "repo-creds":
	case "cluster":
		oc := c.begin(in)
		// The cluster's name and server are not secret; its config is
		// never read.
		name, server := secretString(in.Object, "name"), secretString(in.Object, "server")
		oc.note(NoEquivalent, "metadata.labels."+ArgoSecretTypeLabel, "soll cannot register other clusters yet: the cluster %s (%s) stays out until it can; apps deploying to it are imported but cannot sync", name, server)
		c.end(in, oc, nil)
		return
	default:
		if c.argoNamespace(in.Object) && namespaceOf(in.Object) != "" || strings.HasPrefix(name(in.Object), "argocd-") {
			oc := c.begin(in)
			oc.note(NoEquivalent, "data", "not a repository Secret: soll has no equivalent; it is left out")
			c.end(in, oc, nil)
			return
		}
		c.add(Output{Object: unstructuredOf(in.Object), File: in.File, Rel: in.Rel, Unchanged: true})
		return
	}
	oc := c.begin(in)
	n := oc.root(in.Object, "")
	n.ignore("apiVersion", "kind", "type", "immutable")
	s := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, Type: corev1.SecretTypeOpaque}
	s.ObjectMeta = c.objectMeta(n, false)
	n.md.ignore("finalizers")
	n.md.rest()
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Labels[sollv1.SecretTypeLabel] = typ
	delete(s.Annotations, "managed-by")
	if len(s.Annotations) == 0 {
		s.Annotations = nil
	}
	raw := map[string][]byte{}
	if d, ok := n.take("data"); ok {
		m, isMap := d.(map[string]any)
		if !isMap {
			oc.errorf("data", "want a map")
		}
		for k, v := range m {
			str, isStr := v.(string)
			b, err := base64.StdEncoding.DecodeString(str)
			if !isStr || err != nil {
				oc.errorf("data."+k, "not base64 (the value is not shown)")
				continue
			}
			raw[k] = b
		}
	}
	if d, ok := n.take("stringData"); ok {
		m, isMap := d.(map[string]any)
		if !isMap {
			oc.errorf("stringData", "want a map")
		}
		for k, v := range m {
			str, isStr := v.(string)
			if !isStr {
				oc.errorf("stringData."+k, "want a string (the value is not shown)")
				continue
			}
			raw[k] = []byte(str)
		}
	}
	n.rest()
	s.Data = map[string][]byte{}
	for _, k := range sortedKeys(raw) {
		if to, ok := repoKeys[k]; ok {
			s.Data[to] = raw[k]
			if to != k {
				oc.note(Changed, "data."+k, "written as key %s", to)
			}
			continue
		}
		if k == "type" && string(raw[k]) == "git" || k == "name" {
			continue
		}
		if isFalse(raw[k]) {
			continue
		}
		advice, ok := repoKeyAdvice[k]
		if !ok {
			advice = "soll has no equivalent of this key; it is left out"
		}
		oc.note(NoEquivalent, "data."+k, "%s", advice)
	}
	if len(s.Data["url"]) == 0 {
		oc.errorf("data.url", "missing: a repository Secret names its repository (or, for repo-creds, the URL prefix) in url")
	}
	c.end(in, oc, s)
}

func isFalse(b []byte) bool {
	s := strings.TrimSpace(string(b))
	return s == "" || s == "false"
}

// secretString returns the value of key in a Secret's stringData or data,
// for keys that are not secret (a cluster's name and server).
func secretString(m map[string]any, key string) string {
	if sd, ok := m["stringData"].(map[string]any); ok {
		if v, ok := sd[key].(string); ok {
			return v
		}
	}
	if d, ok := m["data"].(map[string]any); ok {
		if v, ok := d[key].(string); ok {
			if b, err := base64.StdEncoding.DecodeString(v); err == nil {
				return string(b)
			}
		}
	}
	return ""
}
