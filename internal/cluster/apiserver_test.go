package cluster

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// whoami asks the API server who cfg authenticates as.
func whoami(ctx context.Context, t *testing.T, cfg *rest.Config) (string, error) {
	t.Helper()
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	review, err := kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return review.Status.UserInfo.Username, nil
}

// TestRESTConfigAgainstAPIServer registers the test cluster's API server
// as a Cluster with a ServiceAccount's token, in a Secret and from an exec
// plugin, and checks that the API server takes the config for that
// ServiceAccount.
func TestRESTConfigAgainstAPIServer(t *testing.T) {
	env := testenv.Cluster(t)
	ns := testenv.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns}}
	if _, err := env.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := env.Kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "deployer",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("request a token for ServiceAccount %s/deployer: %v", ns, err)
	}
	token := tr.Status.Token
	ca := env.Config.CAData
	if len(ca) == 0 {
		if ca, err = os.ReadFile(env.Config.CAFile); err != nil {
			t.Fatalf("the test cluster's CA: %v", err)
		}
	}
	want := "system:serviceaccount:" + ns + ":deployer"
	cluster := func() *sollv1.Cluster {
		return &sollv1.Cluster{
			ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: "soll"},
			Spec:       sollv1.ClusterSpec{Server: env.Config.Host, CAData: string(ca), Namespaces: []string{ns}},
		}
	}

	t.Run("token in a Secret", func(t *testing.T) {
		c := cluster()
		c.Spec.SecretName = "test-creds"
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "test-creds", Namespace: "soll", Labels: clusterSecretLabels()}, Data: map[string][]byte{"token": []byte(token + "\n")}}
		cfg, err := RESTConfig(c, s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := whoami(ctx, t, cfg)
		if err != nil || got != want {
			t.Fatalf("authenticated as %q (error %v), want %s", got, err, want)
		}

		s.Data["token"] = []byte(token + "x")
		if cfg, err = RESTConfig(c, s); err != nil {
			t.Fatal(err)
		}
		if got, err := whoami(ctx, t, cfg); !apierrors.IsUnauthorized(err) {
			t.Fatalf("a wrong token authenticated as %q (error %v), want 401 Unauthorized", got, err)
		}
	})

	t.Run("token from an exec plugin", func(t *testing.T) {
		// The first run prints a token the API server refuses; after the
		// 401 the plugin runs again and prints the ServiceAccount's.
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "token"), []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
		script := `#!/bin/sh
if [ -e "$DIR/ran" ]; then T=$(cat "$DIR/token"); else T=not-a-token; touch "$DIR/ran"; fi
printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}' "$T" "$EXPIRES"
`
		if err := os.WriteFile(filepath.Join(dir, "get-token"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		c := cluster()
		c.Spec.Exec = &sollv1.ClusterExec{
			Command:    filepath.Join(dir, "get-token"),
			APIVersion: ExecV1beta1,
			Env: []sollv1.ClusterExecEnv{
				{Name: "DIR", Value: dir},
				{Name: "EXPIRES", Value: tr.Status.ExpirationTimestamp.UTC().Format(time.RFC3339)},
			},
		}
		cfg, err := RESTConfig(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := whoami(ctx, t, cfg); !apierrors.IsUnauthorized(err) {
			t.Fatalf("the plugin's first token authenticated as %q (error %v), want 401 Unauthorized", got, err)
		}
		got, err := whoami(ctx, t, cfg)
		if err != nil || got != want {
			t.Fatalf("after the 401: authenticated as %q (error %v), want %s", got, err, want)
		}
	})
}
