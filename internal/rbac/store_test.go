package rbac

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sollv1 "soll.dev/api/v1alpha1"
)

func newFakeClient(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := sollv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
}

func rbacConfigMap(csv, def string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Namespace: "soll"},
		Data:       map[string]string{KeyPolicy: csv, KeyDefault: def},
	}
}

// setPolicy updates the ConfigMap in the fake cluster.
func setPolicy(t *testing.T, c client.Client, csv string) {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "soll", Name: ConfigMapName}, cm); err != nil {
		t.Fatal(err)
	}
	cm.Data[KeyPolicy] = csv
	if err := c.Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
}

func mustLoad(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Load(context.Background()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.Err() != nil {
		t.Fatalf("Err after a good Load: %v", s.Err())
	}
}

func TestStoreReloads(t *testing.T) {
	ctx := context.Background()
	c := newFakeClient(t, rbacConfigMap("g, user:alice, role:readonly", ""), teamAProject())
	s := NewStore(c, "soll")
	alice := []Subject{Account("alice")}
	if s.Allowed(alice, "projects", "get", "team-a") {
		t.Error("alice may get projects before the first Load")
	}
	if !s.Allowed([]Subject{Account("admin")}, "projects", "delete", "team-a") {
		t.Error("the local admin may not delete projects before the first Load")
	}

	mustLoad(t, s)
	if !s.Allowed(alice, "projects", "get", "team-a") || s.Allowed(alice, "projects", "delete", "team-a") {
		t.Error("alice is not exactly a reader")
	}
	if !s.Allowed([]Subject{ProjectRole("team-a", "deployer")}, "applications", "sync", "team-a/web") {
		t.Error("the project role of team-a may not sync its application")
	}

	// Nothing changed: the Enforcer is not rebuilt.
	before := s.Enforcer()
	mustLoad(t, s)
	if s.Enforcer() != before {
		t.Error("Load rebuilt the Enforcer although nothing changed")
	}

	setPolicy(t, c, "g, user:alice, role:admin")
	mustLoad(t, s)
	if !s.Allowed(alice, "projects", "delete", "team-a") {
		t.Error("the change of the ConfigMap did not take effect")
	}

	// A Project change takes effect too.
	p := &sollv1.Project{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "soll", Name: "team-a"}, p); err != nil {
		t.Fatal(err)
	}
	p.Spec.Roles[0].Policies = p.Spec.Roles[0].Policies[:1] // get only
	if err := c.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, s)
	if s.Allowed([]Subject{ProjectRole("team-a", "deployer")}, "applications", "sync", "team-a/web") {
		t.Error("the change of the Project did not take effect")
	}
}

func TestStoreKeepsLastGoodPolicy(t *testing.T) {
	c := newFakeClient(t, rbacConfigMap("g, user:alice, role:readonly", ""))
	s := NewStore(c, "soll")
	mustLoad(t, s)

	setPolicy(t, c, "g, user:alice, role:admin\np, bob, everything, *, *, allow")
	err := s.Load(context.Background())
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 || !strings.Contains(err.Error(), "keeping the last good policy") {
		t.Fatalf("Load of a bad policy returned %v, want a line 2 error and that the last good policy is kept", err)
	}
	if !errors.As(s.Err(), &le) {
		t.Errorf("Err() = %v, want the line error", s.Err())
	}
	if !s.Allowed([]Subject{Account("alice")}, "projects", "get", "team-a") || s.Allowed([]Subject{Account("alice")}, "projects", "delete", "team-a") {
		t.Error("the last good policy is not in effect")
	}
	// The error stays while the bad policy stays.
	if err := s.Load(context.Background()); err == nil {
		t.Error("a second Load forgot the error")
	}

	setPolicy(t, c, "g, user:alice, role:admin")
	mustLoad(t, s)
	if !s.Allowed([]Subject{Account("alice")}, "projects", "delete", "team-a") {
		t.Error("the fixed policy is not in effect")
	}
}

func TestStoreFailsClosedAtStartup(t *testing.T) {
	c := newFakeClient(t, rbacConfigMap("g, user:alice, role:admin\np, bob, applications, deploy, */*, allow", RoleReadonly), teamAProject())
	s := NewStore(c, "soll")
	err := s.Load(context.Background())
	if err == nil || !strings.Contains(err.Error(), "only the built-in policy is in effect") {
		t.Fatalf("Load = %v, want an error saying only the built-in policy is in effect", err)
	}
	for _, subjects := range [][]Subject{{Account("alice")}, {SSOUser("someone")}, {ProjectRole("team-a", "deployer")}} {
		if s.Allowed(subjects, "applications", "get", "team-a/web") {
			t.Errorf("%q may get an application under a broken policy", subjects)
		}
	}
	if !s.Allowed([]Subject{Account("admin")}, "applications", "delete", "team-a/web") {
		t.Error("the local admin lost access under a broken policy")
	}
}

func TestStoreWithoutConfigMap(t *testing.T) {
	s := NewStore(newFakeClient(t, teamAProject()), "soll")
	mustLoad(t, s)
	if !s.Allowed([]Subject{SSOUser("gina@example.org"), Group("team-a-devs")}, "logs", "get", "team-a/web") {
		t.Error("without the ConfigMap the Projects' roles are not in effect")
	}
	if s.Allowed([]Subject{Account("alice")}, "logs", "get", "team-a/web") {
		t.Error("without the ConfigMap there is a default role")
	}
}

func TestStoreBadProject(t *testing.T) {
	ctx := context.Background()
	bad := teamAProject()
	bad.Name = "team-b"
	bad.Spec.Roles[0].Policies = []string{"p, proj:team-b:deployer, applications, sync, team-a/*, allow"}
	c := newFakeClient(t, teamAProject(), bad)
	s := NewStore(c, "soll")
	err := s.Load(ctx)
	if err == nil || !strings.Contains(err.Error(), "project team-b") || !strings.Contains(err.Error(), "grant nothing until this is fixed") {
		t.Fatalf("Load = %v, want an error about project team-b", err)
	}
	if !s.Allowed([]Subject{ProjectRole("team-a", "deployer")}, "applications", "sync", "team-a/web") {
		t.Error("a bad project took away the roles of a good one")
	}
	if s.Allowed([]Subject{ProjectRole("team-b", "deployer")}, "applications", "sync", "team-a/web") {
		t.Error("the bad project's role reaches into team-a")
	}

	// A good project that turns bad keeps its last good roles.
	p := &sollv1.Project{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "soll", Name: "team-a"}, p); err != nil {
		t.Fatal(err)
	}
	p.Spec.Roles[0].Policies = append(p.Spec.Roles[0].Policies, "p, proj:team-a:deployer, applications, delete, */*, allow")
	if err := c.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	err = s.Load(ctx)
	if err == nil || !strings.Contains(err.Error(), "keeping the project's last good roles") {
		t.Fatalf("Load = %v, want an error saying team-a keeps its last good roles", err)
	}
	if !s.Allowed([]Subject{ProjectRole("team-a", "deployer")}, "applications", "sync", "team-a/web") {
		t.Error("team-a lost its last good roles")
	}
	if s.Allowed([]Subject{ProjectRole("team-a", "deployer")}, "applications", "delete", "team-b/web") {
		t.Error("team-a's bad line took effect")
	}
}

// failingReader fails every read.
type failingReader struct{ client.Reader }

func (failingReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return errors.New("connection refused")
}

func TestStoreReadErrorKeepsPolicy(t *testing.T) {
	c := newFakeClient(t, rbacConfigMap("g, user:alice, role:readonly", ""))
	s := NewStore(c, "soll")
	mustLoad(t, s)
	s.reader = failingReader{c}
	if err := s.Load(context.Background()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Load = %v, want the read error", err)
	}
	if !s.Allowed([]Subject{Account("alice")}, "projects", "get", "team-a") {
		t.Error("a read error changed the policy")
	}
	s.reader = c
	mustLoad(t, s)
}

// TestStoreConcurrent decides requests while the policy changes; run it
// with -race.
func TestStoreConcurrent(t *testing.T) {
	c := newFakeClient(t, rbacConfigMap("g, user:alice, role:readonly", ""))
	s := NewStore(c, "soll")
	mustLoad(t, s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			s.Allowed([]Subject{Account("alice")}, "projects", "get", "team-a")
		}
	}()
	for _, role := range []string{RoleAdmin, RoleReadonly, RoleAdmin} {
		setPolicy(t, c, "g, user:alice, "+role)
		mustLoad(t, s)
	}
	<-done
}

func TestStoreRun(t *testing.T) {
	c := newFakeClient(t, rbacConfigMap("p, alice, applications, deploy, */*, allow", ""))
	s := NewStore(c, "soll")
	ctx, cancel := context.WithCancel(context.Background())
	reported := make(chan error, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, time.Millisecond, nil, func(err error) { reported <- err })
	}()
	select {
	case err := <-reported:
		var le *LineError
		if !errors.As(err, &le) {
			t.Errorf("Run reported %v, want the line error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run reported no error for a bad policy")
	}
	setPolicy(t, c, "g, user:alice, role:readonly")
	deadline := time.Now().Add(10 * time.Second)
	for !s.Allowed([]Subject{Account("alice")}, "projects", "get", "team-a") {
		if time.Now().After(deadline) {
			t.Fatal("Run did not pick up the fixed policy")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if len(reported) != 0 {
		t.Errorf("Run reported the same error again: %v", <-reported)
	}
}

// TestStoreRunWakes: a wake loads the changed policy at once, long before
// the interval.
func TestStoreRunWakes(t *testing.T) {
	c := newFakeClient(t, rbacConfigMap("", ""))
	s := NewStore(c, "soll")
	mustLoad(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	wake := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, time.Hour, wake, nil)
	}()
	alice := []Subject{Account("alice")}
	setPolicy(t, c, "g, user:alice, role:readonly")
	if s.Allowed(alice, "projects", "get", "team-a") {
		t.Fatal("the changed policy applies before any Load")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !s.Allowed(alice, "projects", "get", "team-a") {
		select {
		case wake <- struct{}{}:
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("a wake did not load the changed policy")
		}
	}
	cancel()
	<-done
}
