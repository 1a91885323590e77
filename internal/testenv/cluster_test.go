package testenv

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func labels(app string) map[string]string { return map[string]string{"app": app} }

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.example/app:1"}}}
}

// TestWorkloadsRunOnSimulatedNodes proves the local cluster behaves like a
// real one for what soll's health checks read: a Deployment becomes
// Available with Running pods placed on kwok nodes, a Job completes, and a
// Service gets a ClusterIP.
func TestWorkloadsRunOnSimulatedNodes(t *testing.T) {
	env := Cluster(t)
	ns := Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels("web")},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels("web")}, Spec: podSpec()},
		},
	}
	if _, err := env.Kube.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: ns},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: func() corev1.PodSpec {
			s := podSpec()
			s.RestartPolicy = corev1.RestartPolicyNever
			return s
		}()}},
	}
	if _, err := env.Kube.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create job: %v", err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: labels("web"),
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	created, err := env.Kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	if ip := created.Spec.ClusterIP; ip == "" || ip == corev1.ClusterIPNone || !strings.HasPrefix(ip, "10.") {
		t.Errorf("service %s/web got ClusterIP %q, want an address from the service range", ns, ip)
	}

	err = Eventually(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		d, err := env.Kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
				return d.Status.AvailableReplicas == 3 && d.Status.ReadyReplicas == 3, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("deployment %s/web never became Available with 3 ready replicas: %v", ns, err)
	}
	pods, err := env.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 3 {
		t.Fatalf("want 3 pods of web, got %d", len(pods.Items))
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s is %s, want Running", p.Name, p.Status.Phase)
		}
		if !strings.HasPrefix(p.Spec.NodeName, "kwok-node-") {
			t.Errorf("pod %s scheduled on %q, want a simulated kwok node", p.Name, p.Spec.NodeName)
		}
		if p.Status.PodIP == "" {
			t.Errorf("pod %s has no IP", p.Name)
		}
	}

	err = Eventually(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		j, err := env.Kube.BatchV1().Jobs(ns).Get(ctx, "migrate", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
				return j.Status.Succeeded == 1, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("job %s/migrate never completed: %v", ns, err)
	}

	// Deleted pods go away (kwok's pod-delete stage), and the ReplicaSet
	// replaces them.
	victim := pods.Items[0].Name
	if err := env.Kube.CoreV1().Pods(ns).Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = Eventually(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := env.Kube.CoreV1().Pods(ns).Get(ctx, victim, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, err
		}
		d, err := env.Kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return d.Status.ReadyReplicas == 3, nil
	})
	if err != nil {
		t.Fatalf("deleted pod %s did not go away and get replaced: %v", victim, err)
	}
}

// TestNamespaceIsolation checks the namespace helper: unique names, and
// pods can be created at once because the default ServiceAccount exists.
func TestNamespaceIsolation(t *testing.T) {
	env := Cluster(t)
	a, b := Namespace(t), Namespace(t)
	if a == b {
		t.Fatalf("two namespaces share the name %s", a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: podSpec()}
	if _, err := env.Kube.CoreV1().Pods(a).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod right after Namespace returned: %v", err)
	}
	if _, err := env.Kube.CoreV1().Pods(b).Get(ctx, "p", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("pod of namespace %s visible in %s: err=%v", a, b, err)
	}
}

// TestTwoClustersSideBySide starts two private clusters at once and shows
// they are distinct: different servers, and an object created in one does
// not exist in the other.
func TestTwoClustersSideBySide(t *testing.T) {
	envs := [2]*Env{NewCluster(t, 1), NewCluster(t, 1)}
	if envs[0].Config.Host == envs[1].Config.Host {
		t.Fatalf("both clusters serve on %s", envs[0].Config.Host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "only-in-first"}}
	if _, err := envs[0].Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := envs[1].Kube.CoreV1().Namespaces().Get(ctx, "only-in-first", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace created in the first cluster is visible in the second: err=%v", err)
	}
	for i, env := range envs {
		nodes, err := env.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes.Items) != 1 {
			t.Errorf("cluster %d has %d nodes, want 1", i, len(nodes.Items))
		}
	}
}
