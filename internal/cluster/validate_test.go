package cluster

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
)

func tokenCluster() *sollv1.Cluster {
	return &sollv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: "soll"},
		Spec:       sollv1.ClusterSpec{Server: "https://api.prod.example:6443", SecretName: "prod-creds"},
	}
}

func execCluster(command string, args ...string) *sollv1.Cluster {
	c := tokenCluster()
	c.Spec.SecretName = ""
	c.Spec.Exec = &sollv1.ClusterExec{Command: command, Args: args}
	return c
}

// wantErrors checks that err mentions every one of want (and is nil when
// want is empty).
func wantErrors(t *testing.T, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("want no error, got: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("want an error mentioning %q, got none", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}

func TestValidate(t *testing.T) {
	ca := newCA(t)
	other := newCA(t)
	tests := []struct {
		name   string
		change func(c *sollv1.Cluster)
		want   []string // substrings of the error; none: valid
	}{
		{"token cluster", func(c *sollv1.Cluster) {}, nil},
		{"exec cluster", func(c *sollv1.Cluster) {
			*c = *execCluster("/usr/local/bin/get-token", "--cluster", "prod")
			c.Spec.Exec.Env = []sollv1.ClusterExecEnv{{Name: "AWS_PROFILE", Value: "prod"}}
			c.Spec.Exec.APIVersion = ExecV1beta1
		}, nil},
		{"all optional fields", func(c *sollv1.Cluster) {
			c.Spec.CAData = string(ca.certPEM) + "\n" + string(other.certPEM)
			c.Spec.TLSServerName = "api.internal"
			c.Spec.ProxyURL = "socks5://proxy.example:1080"
			c.Spec.Namespaces = []string{"web", "db"}
			c.Spec.Server = "https://10.0.0.1/prefix"
		}, nil},
		{"tls server name is an IP", func(c *sollv1.Cluster) { c.Spec.TLSServerName = "10.1.2.3" }, nil},
		{"in-cluster name", func(c *sollv1.Cluster) { c.Name = sollv1.InClusterName }, []string{"cluster in-cluster: metadata.name:", "choose another name"}},
		{"http server", func(c *sollv1.Cluster) { c.Spec.Server = "http://api.prod.example" }, []string{"cluster prod: spec.server:", "not an https URL"}},
		{"empty server", func(c *sollv1.Cluster) { c.Spec.Server = "" }, []string{"spec.server: empty"}},
		{"unparsable server", func(c *sollv1.Cluster) { c.Spec.Server = "https://api prod:6443" }, []string{"spec.server:", "not a URL"}},
		{"server without host", func(c *sollv1.Cluster) { c.Spec.Server = "https:///api" }, []string{"spec.server:", "no host"}},
		{"server with user info", func(c *sollv1.Cluster) { c.Spec.Server = "https://admin:hunter2@api.prod.example" }, []string{"spec.server:", "user info"}},
		{"server with query", func(c *sollv1.Cluster) { c.Spec.Server = "https://api.prod.example/?x=1" }, []string{"spec.server:", "query"}},
		{"server with fragment", func(c *sollv1.Cluster) { c.Spec.Server = "https://api.prod.example/#top" }, []string{"spec.server:", "fragment"}},
		{"in-cluster server", func(c *sollv1.Cluster) { c.Spec.Server = sollv1.InClusterServer }, []string{"spec.server:", "soll runs in"}},
		{"in-cluster server with slash", func(c *sollv1.Cluster) { c.Spec.Server = sollv1.InClusterServer + "/" }, []string{"spec.server:", "soll runs in"}},
		{"in-cluster server with port", func(c *sollv1.Cluster) { c.Spec.Server = "https://Kubernetes.Default.svc:443" }, []string{"spec.server:", "soll runs in"}},
		{"in-cluster server by its full name", func(c *sollv1.Cluster) { c.Spec.Server = "https://kubernetes.default.svc.cluster.local./api" }, []string{"spec.server:", "soll runs in"}},
		{"in-cluster server by its short name", func(c *sollv1.Cluster) { c.Spec.Server = "https://kubernetes:6443" }, []string{"spec.server:", "soll runs in"}},
		{"a host named like it elsewhere", func(c *sollv1.Cluster) { c.Spec.Server = "https://kubernetes.example.com" }, nil},
		{"CA not PEM", func(c *sollv1.Cluster) { c.Spec.CAData = "not a certificate" }, []string{"spec.caData:", "no PEM CERTIFICATE block"}},
		{"CA is a key", func(c *sollv1.Cluster) {
			_, key := ca.leaf(t, "x", time.Time{})
			c.Spec.CAData = string(key)
		}, []string{"spec.caData:", `"PRIVATE KEY", want CERTIFICATE`}},
		{"CA with garbage after", func(c *sollv1.Cluster) { c.Spec.CAData = string(ca.certPEM) + "garbage" }, []string{"spec.caData:", "after PEM block 1"}},
		{"CA block not a certificate", func(c *sollv1.Cluster) {
			c.Spec.CAData = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}, []string{"spec.caData:", "PEM block 1 is not an X.509 certificate"}},
		{"bad tls server name", func(c *sollv1.Cluster) { c.Spec.TLSServerName = "api internal" }, []string{"spec.tlsServerName:"}},
		{"ftp proxy", func(c *sollv1.Cluster) { c.Spec.ProxyURL = "ftp://proxy.example" }, []string{"spec.proxyURL:", `scheme "ftp"`}},
		{"proxy without host", func(c *sollv1.Cluster) { c.Spec.ProxyURL = "http://" }, []string{"spec.proxyURL:", "no host"}},
		{"proxy with password", func(c *sollv1.Cluster) { c.Spec.ProxyURL = "http://user:s3cret@proxy.example:3128" }, []string{"spec.proxyURL:", "user info"}},
		{"bad namespace", func(c *sollv1.Cluster) { c.Spec.Namespaces = []string{"web", "Web_2"} }, []string{"spec.namespaces[1]:", `"Web_2" is not a namespace name`}},
		{"duplicate namespace", func(c *sollv1.Cluster) { c.Spec.Namespaces = []string{"web", "db", "web"} }, []string{"spec.namespaces[2]:", "twice"}},
		{"both credentials", func(c *sollv1.Cluster) { c.Spec.Exec = &sollv1.ClusterExec{Command: "x"} }, []string{"cluster prod: spec: both secretName and exec"}},
		{"no credentials", func(c *sollv1.Cluster) { c.Spec.SecretName = "" }, []string{"cluster prod: spec: neither secretName nor exec"}},
		{"bad secret name", func(c *sollv1.Cluster) { c.Spec.SecretName = "Prod Creds" }, []string{"spec.secretName:", "not a Secret name"}},
		{"empty command", func(c *sollv1.Cluster) { *c = *execCluster("  ") }, []string{"spec.exec.command: empty"}},
		{"relative command", func(c *sollv1.Cluster) { *c = *execCluster("bin/get-token") }, []string{"spec.exec.command:", "relative path"}},
		{"NUL in argument", func(c *sollv1.Cluster) { *c = *execCluster("get-token", "ok", "a\x00b") }, []string{"spec.exec.args[1]: contains a NUL"}},
		{"bad env names", func(c *sollv1.Cluster) {
			*c = *execCluster("get-token")
			c.Spec.Exec.Env = []sollv1.ClusterExecEnv{{Name: "A=B"}, {Name: ""}, {Name: "PATH", Value: "/tmp"}, {Name: "KUBERNETES_EXEC_INFO"}, {Name: "X"}, {Name: "X"}, {Name: "Y", Value: "a\x00"}}
		}, []string{
			"spec.exec.env[0].name:", "'='",
			"spec.exec.env[1].name: empty",
			"spec.exec.env[2].name: PATH is soll's own",
			"spec.exec.env[3].name: KUBERNETES_EXEC_INFO is set by soll",
			"spec.exec.env[5].name:", "set twice",
			"spec.exec.env[6].value: contains a NUL",
		}},
		{"bad api version", func(c *sollv1.Cluster) {
			*c = *execCluster("get-token")
			c.Spec.Exec.APIVersion = "client.authentication.k8s.io/v1alpha1"
		}, []string{"spec.exec.apiVersion:", "not supported"}},
		{"bad timeout", func(c *sollv1.Cluster) {
			*c = *execCluster("get-token")
			c.Spec.Exec.TimeoutSeconds = 301
		}, []string{"spec.exec.timeoutSeconds:", "outside 0..300"}},
		{"every problem at once", func(c *sollv1.Cluster) {
			c.Spec.Server = "http://x"
			c.Spec.CAData = "x"
			c.Spec.Namespaces = []string{"A"}
			c.Spec.SecretName = ""
		}, []string{"spec.server:", "spec.caData:", "spec.namespaces[0]:", "spec: neither"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tokenCluster()
			tt.change(c)
			err := Validate(c)
			wantErrors(t, err, tt.want...)
			for _, secret := range []string{"hunter2", "s3cret"} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("error quotes the password %q: %v", secret, err)
				}
			}
		})
	}
	wantErrors(t, Validate(nil), "no Cluster")
}

// secretValue marks credentials in tests: no error may contain it.
const secretValue = "SECRETVALUE"

func TestValidateSecret(t *testing.T) {
	ca := newCA(t)
	cert, key := ca.leaf(t, "soll", time.Time{})
	otherCert, _ := ca.leaf(t, "soll", time.Time{})
	expiredCert, expiredKey := ca.leaf(t, "soll", time.Now().Add(-time.Hour))
	garbageKey := []byte("-----BEGIN PRIVATE KEY-----\n" + secretValue + "\n-----END PRIVATE KEY-----\n")
	tests := []struct {
		name   string
		secret *corev1.Secret // nil: none given
		want   []string
	}{
		{"token", secretWith("token", secretValue+"-abc.def_ghi"), nil},
		{"token with trailing newline", secretWith("token", secretValue+"\n"), nil},
		{"token with trailing CRLF", secretWith("token", secretValue+"\r\n"), nil},
		{"client certificate", secretWith("tls.crt", string(cert), "tls.key", string(key)), nil},
		{"token in stringData", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "prod-creds", Labels: clusterSecretLabels()}, StringData: map[string]string{"token": secretValue}}, nil},
		{"not labelled", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "prod-creds"}, Data: map[string][]byte{"token": []byte(secretValue)}},
			[]string{"Secret prod-creds: is not labelled soll.dev/secret-type=cluster"}},
		{"labelled for a repository", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "prod-creds", Labels: map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeRepository}}, Data: map[string][]byte{"token": []byte(secretValue)}},
			[]string{"is not labelled soll.dev/secret-type=cluster"}},
		{"another cluster's secret", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "prod-creds", Labels: map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeCluster, sollv1.ClusterSecretLabel: "staging"}}, Data: map[string][]byte{"token": []byte(secretValue)}},
			[]string{`Secret prod-creds: is labelled soll.dev/cluster="staging", not soll.dev/cluster=prod`}},
		{"no secret", nil, []string{"cluster prod: spec.secretName: Secret prod-creds not found"}},
		{"other secret", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, []string{"spec.secretName: names Secret prod-creds, but Secret other"}},
		{"empty secret", secretWith(), []string{"Secret prod-creds: has no credentials", `"token"`, `"tls.crt"`}},
		{"empty token", secretWith("token", "\n"), []string{`Secret prod-creds key "token": empty`}},
		{"token with space", secretWith("token", secretValue+" "+secretValue), []string{`Secret prod-creds key "token":`, "at byte 11"}},
		{"token with two lines", secretWith("token", secretValue+"\n"+secretValue+"\n"), []string{`key "token":`, "line break"}},
		{"token too long", secretWith("token", strings.Repeat(secretValue, 7000)), []string{`key "token": 77000 bytes, more than the 65536 allowed`}},
		{"token and certificate", secretWith("token", secretValue, "tls.crt", string(cert), "tls.key", string(key)), []string{"has both a token and a client certificate"}},
		{"certificate without key", secretWith("tls.crt", string(cert)), []string{`key "tls.key": missing`}},
		{"key without certificate", secretWith("tls.key", string(key)), []string{`key "tls.crt": missing`}},
		{"key of another certificate", secretWith("tls.crt", string(otherCert), "tls.key", string(key)), []string{`keys "tls.crt" and "tls.key"`, "does not match"}},
		{"garbage key", secretWith("tls.crt", string(cert), "tls.key", string(garbageKey)), []string{`keys "tls.crt" and "tls.key"`}},
		{"certificate not PEM", secretWith("tls.crt", secretValue, "tls.key", string(key)), []string{`keys "tls.crt" and "tls.key"`, "PEM"}},
		{"expired certificate", secretWith("tls.crt", string(expiredCert), "tls.key", string(expiredKey)), []string{"expired at"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateSecret(tokenCluster(), tt.secret)
			wantErrors(t, err, tt.want...)
			if err != nil && strings.Contains(err.Error(), secretValue) {
				t.Errorf("error quotes the Secret's value: %v", err)
			}
		})
	}
	wantErrors(t, ValidateSecret(execCluster("get-token"), secretWith("token", "x")), "spec.secretName: not set")
}

func clusterSecretLabels() map[string]string {
	return map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeCluster, sollv1.ClusterSecretLabel: "prod"}
}

// secretWith is the Secret prod-creds with the given keys and values.
func secretWith(kv ...string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "prod-creds", Namespace: "soll", Labels: clusterSecretLabels()},
		Data:       map[string][]byte{},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		s.Data[kv[i]] = []byte(kv[i+1])
	}
	return s
}
