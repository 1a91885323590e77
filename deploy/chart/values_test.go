package chart_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/config/install"
	"soll.dev/internal/auth"
	"soll.dev/internal/rbac"
	"soll.dev/internal/repocreds"
	"soll.dev/internal/serve"
)

// everyValue sets every value of the chart.
const everyValue = `
image:
  repository: registry.example/soll
  tag: v9.9.9
  digest: sha256:0f8d1e0c43e1b6d5b1a7b2e3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7
  pullPolicy: Always
imagePullSecrets: [{name: regcred}]
replicas: 1
resources:
  requests: {cpu: 250m, memory: 512Mi}
  limits: {memory: 2Gi}
ingress:
  enabled: true
  className: nginx
  annotations: {nginx.ingress.kubernetes.io/proxy-read-timeout: "3600"}
  host: soll.example.com
  path: /
  tls: {secretName: soll-tls}
metrics:
  enabled: true
  port: 9102
oidc:
  issuer: https://sso.example.com/realms/main
  clientID: soll
  redirectURL: https://soll.example.com/auth/callback
  scopes: [profile, email, groups, offline_access]
  groupsClaim: roles
  clientSecret:
    existingSecret: sso-client
    key: secret
rbac:
  policy: |
    p, role:deployer, applications, sync, */*, allow
    g, group:platform, role:admin
  defaultRole: role:readonly
settings:
  resource.customizations.health.example.com_Widget: |
    hs = {status = "Healthy"}
    return hs
repositories:
  - name: team-a-git
    url: https://git.example.com/team-a
    template: true
    project: team-a
    existingSecret: git-bot
  - name: charts
    url: oci://registry.example/charts
    shared: true
    existingSecret: chart-reader
extraArgs: [--trusted-proxies=10.0.0.0/8, --log-level=debug]
extraEnv:
  - {name: HTTPS_PROXY, value: "http://proxy.example:3128"}
podAnnotations: {example.com/team: platform}
podLabels: {example.com/tier: gitops}
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Equal, value: gitops, effect: NoSchedule}]
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions: [{key: example.com/pool, operator: In, values: [system]}]
`

// find returns the object kind/name of objs, failing the test without it.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s among the rendered objects", kind, name)
	return nil
}

// TestEveryValue renders the chart with every value set and checks that
// each one lands where it should.
func TestEveryValue(t *testing.T) {
	const ns = "gitops"
	objs := mustRender(t, ns, values(t, everyValue))

	var dep appsv1.Deployment
	decodeStrict(t, find(t, objs, "Deployment", "soll"), &dep)
	pod := dep.Spec.Template
	c := pod.Spec.Containers[0]
	if want := "registry.example/soll@sha256:0f8d1e0c43e1b6d5b1a7b2e3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7"; c.Image != want || c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("image %s (%s), want %s (Always): the digest wins over the tag", c.Image, c.ImagePullPolicy, want)
	}
	if want := []string{"run", "--namespace=gitops", "--cache-dir=/tmp/soll-cache", "--metrics-addr=:9102", "--trusted-proxies=10.0.0.0/8", "--log-level=debug"}; !slices.Equal(c.Args, want) {
		t.Errorf("args %q, want %q", c.Args, want)
	}
	wantPorts := []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: "TCP"}, {Name: "metrics", ContainerPort: 9102, Protocol: "TCP"}}
	if diff := cmp.Diff(wantPorts, c.Ports); diff != "" {
		t.Errorf("container ports (-want +got):\n%s", diff)
	}
	var secretEnv *corev1.EnvVar
	var envNames []string
	for i, e := range c.Env {
		envNames = append(envNames, e.Name)
		if e.Name == serve.OIDCClientSecretEnv {
			secretEnv = &c.Env[i]
		}
	}
	if !slices.Equal(envNames, []string{"GOMEMLIMIT", serve.OIDCClientSecretEnv, "HTTPS_PROXY"}) {
		t.Errorf("environment %v", envNames)
	}
	if secretEnv == nil || secretEnv.Value != "" || secretEnv.ValueFrom == nil || secretEnv.ValueFrom.SecretKeyRef == nil ||
		secretEnv.ValueFrom.SecretKeyRef.Name != "sso-client" || secretEnv.ValueFrom.SecretKeyRef.Key != "secret" {
		t.Errorf("%s is not taken from Secret sso-client, key secret: %+v", serve.OIDCClientSecretEnv, secretEnv)
	}
	if c.Resources.Requests.Cpu().String() != "250m" || c.Resources.Limits.Memory().String() != "2Gi" {
		t.Errorf("resources %+v", c.Resources)
	}
	if len(pod.Spec.ImagePullSecrets) != 1 || pod.Spec.ImagePullSecrets[0].Name != "regcred" {
		t.Errorf("imagePullSecrets %+v", pod.Spec.ImagePullSecrets)
	}
	if pod.Labels["example.com/tier"] != "gitops" || pod.Labels["app.kubernetes.io/name"] != "soll" ||
		pod.Annotations["example.com/team"] != "platform" || pod.Annotations["soll.dev/oidc-config-checksum"] == "" {
		t.Errorf("pod labels %v, annotations %v", pod.Labels, pod.Annotations)
	}
	if pod.Spec.NodeSelector["kubernetes.io/os"] != "linux" || len(pod.Spec.Tolerations) != 1 || pod.Spec.Tolerations[0].Value != "gitops" ||
		pod.Spec.Affinity == nil || pod.Spec.Affinity.NodeAffinity == nil {
		t.Errorf("placement: nodeSelector %v, tolerations %+v, affinity %+v", pod.Spec.NodeSelector, pod.Spec.Tolerations, pod.Spec.Affinity)
	}
	// soll install's security contexts are kept whatever the values.
	installed := installDeployment(t, ns)
	if diff := cmp.Diff(installed.Spec.Template.Spec.SecurityContext, pod.Spec.SecurityContext); diff != "" {
		t.Errorf("pod securityContext differs from soll install's (-install +chart):\n%s", diff)
	}
	if diff := cmp.Diff(installed.Spec.Template.Spec.Containers[0].SecurityContext, c.SecurityContext); diff != "" {
		t.Errorf("container securityContext differs from soll install's (-install +chart):\n%s", diff)
	}

	var svc corev1.Service
	decodeStrict(t, find(t, objs, "Service", "soll"), &svc)
	var svcPorts []string
	for _, p := range svc.Spec.Ports {
		svcPorts = append(svcPorts, p.Name+":"+p.TargetPort.String())
		if p.Name == "metrics" && p.Port != 9102 {
			t.Errorf("Service port metrics is %d, want 9102", p.Port)
		}
	}
	if !slices.Equal(svcPorts, []string{"http:http", "metrics:metrics"}) {
		t.Errorf("Service ports %v", svcPorts)
	}

	var ing networkingv1.Ingress
	decodeStrict(t, find(t, objs, "Ingress", "soll"), &ing)
	rule := ing.Spec.Rules[0]
	backend := rule.HTTP.Paths[0].Backend.Service
	if *ing.Spec.IngressClassName != "nginx" || ing.Annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] != "3600" ||
		rule.Host != "soll.example.com" || rule.HTTP.Paths[0].Path != "/" || backend.Name != "soll" || backend.Port.Name != "http" {
		t.Errorf("Ingress %+v", ing.Spec)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "soll-tls" || !slices.Equal(ing.Spec.TLS[0].Hosts, []string{"soll.example.com"}) {
		t.Errorf("Ingress TLS %+v", ing.Spec.TLS)
	}

	// soll-config: the SSO settings as soll parses them, and the settings.
	var settings corev1.ConfigMap
	decodeStrict(t, find(t, objs, "ConfigMap", sollv1.SettingsConfigMap), &settings)
	oidc := parseOIDC(t, settings.Data[sollv1.OIDCConfigKey])
	want := auth.OIDCConfig{Issuer: "https://sso.example.com/realms/main", ClientID: "soll", RedirectURL: "https://soll.example.com/auth/callback",
		Scopes: []string{"profile", "email", "groups", "offline_access"}, GroupsClaim: "roles"}
	if diff := cmp.Diff(want, oidc); diff != "" {
		t.Errorf("oidc.config (-want +got):\n%s", diff)
	}
	if !strings.Contains(settings.Data["resource.customizations.health.example.com_Widget"], `hs = {status = "Healthy"}`) {
		t.Errorf("soll-config lacks the settings: %v", settings.Data)
	}

	// soll-rbac: a policy soll accepts.
	var policy corev1.ConfigMap
	decodeStrict(t, find(t, objs, "ConfigMap", rbac.ConfigMapName), &policy)
	if policy.Data[rbac.KeyDefault] != "role:readonly" || !strings.Contains(policy.Data[rbac.KeyPolicy], "g, group:platform, role:admin") {
		t.Errorf("soll-rbac: %v", policy.Data)
	}
	if _, err := rbac.Parse(rbac.Policy{CSV: policy.Data[rbac.KeyPolicy], Default: policy.Data[rbac.KeyDefault]}); err != nil {
		t.Errorf("soll does not accept the policy: %v", err)
	}

	// Repository Secrets that name the user's Secrets and hold no
	// credentials themselves.
	for _, tc := range []struct {
		name, typ, url, project, shared, lender string
	}{
		{"team-a-git", sollv1.SecretTypeRepoCreds, "https://git.example.com/team-a", "team-a", "", "git-bot"},
		{"charts", sollv1.SecretTypeRepository, "oci://registry.example/charts", "", "true", "chart-reader"},
	} {
		var s corev1.Secret
		decodeStrict(t, find(t, objs, "Secret", tc.name), &s)
		wantData := map[string]string{"url": tc.url, repocreds.CredentialsSecretKey: tc.lender}
		if tc.project != "" {
			wantData[repocreds.ProjectKey] = tc.project
		}
		if diff := cmp.Diff(wantData, s.StringData); diff != "" || len(s.Data) != 0 {
			t.Errorf("Secret %s data (-want +got):\n%s", tc.name, diff)
		}
		if s.Labels[sollv1.SecretTypeLabel] != tc.typ || s.Labels[sollv1.SharedLabel] != tc.shared {
			t.Errorf("Secret %s labels %v, want type %s, shared %q", tc.name, s.Labels, tc.typ, tc.shared)
		}
	}

	// Every object decodes strictly and lives in the release's namespace
	// (but the cluster-scoped ones).
	for _, o := range objs {
		if o.GetNamespace() != ns && o.GetKind() != "CustomResourceDefinition" && !strings.HasPrefix(o.GetKind(), "Cluster") {
			t.Errorf("%s is not in namespace %s", key(o), ns)
		}
	}
}

// installDeployment is soll install's Deployment for namespace ns.
func installDeployment(t *testing.T, ns string) *appsv1.Deployment {
	t.Helper()
	objs, err := install.Objects(install.Options{Namespace: ns, Image: install.DefaultImage})
	if err != nil {
		t.Fatal(err)
	}
	var dep appsv1.Deployment
	decodeStrict(t, find(t, objs, "Deployment", "soll"), &dep)
	return &dep
}

// parseOIDC parses the key oidc.config as soll does (strictly).
func parseOIDC(t *testing.T, s string) auth.OIDCConfig {
	t.Helper()
	var cfg auth.OIDCConfig
	if err := yaml.UnmarshalStrict([]byte(s), &cfg); err != nil {
		t.Fatalf("soll does not accept oidc.config: %v\n%s", err, s)
	}
	return cfg
}

// TestOIDCDefaultsAndRestart: the callback defaults to the ingress host,
// and a change of the SSO settings changes the pod template, so that soll,
// which reads them when it starts, restarts.
func TestOIDCDefaultsAndRestart(t *testing.T) {
	base := `
ingress: {enabled: true, host: soll.example.com}
oidc:
  issuer: https://sso.example.com
  clientID: soll
`
	objs := mustRender(t, "soll", values(t, base))
	oidc := parseOIDC(t, find(t, objs, "ConfigMap", sollv1.SettingsConfigMap).Object["data"].(map[string]any)[sollv1.OIDCConfigKey].(string))
	if oidc.RedirectURL != "https://soll.example.com/auth/callback" || oidc.Scopes != nil || oidc.GroupsClaim != "" {
		t.Errorf("oidc.config with defaults: %+v", oidc)
	}
	checksum := func(objs []*unstructured.Unstructured) string {
		s, _, _ := unstructured.NestedString(find(t, objs, "Deployment", "soll").Object, "spec", "template", "metadata", "annotations", "soll.dev/oidc-config-checksum")
		return s
	}
	before := checksum(objs)
	after := checksum(mustRender(t, "soll", values(t, base+"  groupsClaim: roles\n")))
	if before == "" || before == after {
		t.Errorf("the pod template's checksum of the SSO settings: %q, then %q after a change", before, after)
	}
	// Without SSO there is no soll-config and no env from a Secret.
	for _, o := range mustRender(t, "soll", nil) {
		if o.GetKind() == "ConfigMap" || o.GetKind() == "Secret" || o.GetKind() == "Ingress" {
			t.Errorf("the defaults render %s", key(o))
		}
	}
}

// TestRefusedValues: values that cannot work fail the render with a
// message that names the value and says what to do.
func TestRefusedValues(t *testing.T) {
	for _, tc := range []struct{ name, values, want string }{
		{"no replicas", "replicas: 0", "replicas: 0 is not possible: soll needs at least one replica; set replicas to 1 or more"},
		{"ingress without host", "ingress: {enabled: true}", "ingress.host: set soll's host name"},
		{"SSO without client", "oidc: {issuer: https://sso.example.com, redirectURL: https://soll.example.com/auth/callback}", "oidc.clientID: set soll's client ID"},
		{"SSO without callback", "oidc: {issuer: https://sso.example.com, clientID: soll}", "oidc.redirectURL: set soll's callback"},
		{"client secret without SSO", "oidc: {clientSecret: {existingSecret: sso}}", "oidc.clientSecret.existingSecret is set but oidc.issuer is not"},
		{"client secret without key", "oidc: {issuer: https://sso.example.com, clientID: soll, redirectURL: https://soll.example.com/auth/callback, clientSecret: {existingSecret: sso, key: ''}}", "oidc.clientSecret.key: name the key"},
		{"repository without Secret", "repositories: [{name: r, url: https://git.example.com/a}]", "repositories[0].existingSecret: name your Secret"},
		{"repository without URL", "repositories: [{name: r, existingSecret: s}]", "repositories[0].url: set the repository's URL"},
		{"repository without name", "repositories: [{url: https://git.example.com/a, existingSecret: s}]", "repositories[0].name: name the repository Secret"},
		{"repository scoped and shared", "repositories: [{name: r, url: https://git.example.com/a, existingSecret: s, project: p, shared: true}]", "repositories[0]: project and shared exclude each other"},
		{"oidc.config in settings", "settings: {oidc.config: 'issuer: x'}", "settings: oidc.config is written from the values under oidc"},
		{"no image repository", "image: {repository: ''}", "image.repository: set the image's repository"},
		{"selector label", "podLabels: {app.kubernetes.io/name: other}", "podLabels: app.kubernetes.io/name is set by the chart"},
		{"misspelt value", "ingres: {enabled: true}", "additional properties 'ingres' not allowed"},
		{"misspelt nested value", "oidc: {clientId: soll}", "additional properties 'clientId' not allowed"},
		{"metrics on the API's port", "metrics: {enabled: true, port: 8080}", "metrics.port: 8080 is the port of soll's API"},
		{"metrics on no port", "metrics: {enabled: true, port: 0}", "/metrics/port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, "soll", values(t, tc.values))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("render with %s: %v, want an error saying %q", tc.values, err, tc.want)
			}
		})
	}
}
