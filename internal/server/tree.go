package server

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/appstate"
)

// Bounds of the tree and events endpoints: they read live objects on
// demand, so a huge namespace must not make one request huge.
const (
	maxTreeNamespaces = 20
	maxListItems      = 1000
	maxEvents         = 200
)

// childLister lists the objects of one child kind in a namespace.
type childLister struct {
	gvk  schema.GroupVersionKind
	list func(ctx context.Context, kc kubernetes.Interface, ns string, opts metav1.ListOptions) ([]childObject, string, error)
}

// childObject is what the tree needs of a listed object.
type childObject struct {
	meta metav1.ObjectMeta
	info map[string]string
}

// children are the kinds owned by managed resources that the tree shows:
// Deployment -> ReplicaSet -> Pod, StatefulSet/DaemonSet/Job -> Pod,
// CronJob -> Job -> Pod.
var children = []childLister{
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, func(ctx context.Context, kc kubernetes.Interface, ns string, o metav1.ListOptions) ([]childObject, string, error) {
		l, err := kc.AppsV1().ReplicaSets(ns).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		out := make([]childObject, 0, len(l.Items))
		for _, x := range l.Items {
			out = append(out, childObject{x.ObjectMeta, map[string]string{"replicas": fmt.Sprint(x.Status.Replicas), "readyReplicas": fmt.Sprint(x.Status.ReadyReplicas)}})
		}
		return out, l.Continue, nil
	}},
	{schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, func(ctx context.Context, kc kubernetes.Interface, ns string, o metav1.ListOptions) ([]childObject, string, error) {
		l, err := kc.BatchV1().Jobs(ns).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		out := make([]childObject, 0, len(l.Items))
		for _, x := range l.Items {
			out = append(out, childObject{x.ObjectMeta, map[string]string{"succeeded": fmt.Sprint(x.Status.Succeeded), "failed": fmt.Sprint(x.Status.Failed)}})
		}
		return out, l.Continue, nil
	}},
	{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, func(ctx context.Context, kc kubernetes.Interface, ns string, o metav1.ListOptions) ([]childObject, string, error) {
		l, err := kc.CoreV1().Pods(ns).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		out := make([]childObject, 0, len(l.Items))
		for _, x := range l.Items {
			info := map[string]string{"phase": string(x.Status.Phase)}
			for _, c := range x.Status.Conditions {
				if c.Type == corev1.PodReady {
					info["ready"] = string(c.Status)
				}
			}
			out = append(out, childObject{x.ObjectMeta, info})
		}
		return out, l.Continue, nil
	}},
}

func refKey(group, kind, ns, name string) string { return group + "/" + kind + "/" + ns + "/" + name }

// tree builds app's resource tree: its managed resources and, in their
// namespaces of its cluster (kc), the children that ownerReferences tie to
// them.
func tree(ctx context.Context, kc kubernetes.Interface, app *sollv1.Application) (*apitypes.Tree, error) {
	t := &apitypes.Tree{Nodes: []apitypes.TreeNode{}}
	index := map[string]bool{}
	var namespaces []string
	for _, res := range app.Status.Resources {
		t.Nodes = append(t.Nodes, apitypes.TreeNode{
			ResourceRef: apitypes.ResourceRef{Group: res.Group, Kind: res.Kind, Namespace: res.Namespace, Name: res.Name},
			Version:     res.Version, Managed: true, Status: res.Status, Health: res.Health,
		})
		index[refKey(res.Group, res.Kind, res.Namespace, res.Name)] = true
		if res.Namespace != "" && !slices.Contains(namespaces, res.Namespace) {
			namespaces = append(namespaces, res.Namespace)
		}
	}
	if len(namespaces) > maxTreeNamespaces {
		namespaces, t.Truncated = namespaces[:maxTreeNamespaces], true
	}
	// Owners come before what they own in children, so one pass per
	// kind links each level to the one above.
	for _, ns := range namespaces {
		for _, cl := range children {
			objs, cont, err := cl.list(ctx, kc, ns, metav1.ListOptions{Limit: maxListItems})
			if err != nil {
				return nil, fmt.Errorf("list %ss in namespace %s: %w", cl.gvk.Kind, ns, err)
			}
			t.Truncated = t.Truncated || cont != ""
			for _, o := range objs {
				var parents []apitypes.ResourceRef
				for _, ref := range o.meta.OwnerReferences {
					group := ""
					if gv, err := schema.ParseGroupVersion(ref.APIVersion); err == nil {
						group = gv.Group
					}
					if index[refKey(group, ref.Kind, ns, ref.Name)] {
						parents = append(parents, apitypes.ResourceRef{Group: group, Kind: ref.Kind, Namespace: ns, Name: ref.Name})
					}
				}
				k := refKey(cl.gvk.Group, cl.gvk.Kind, ns, o.meta.Name)
				if len(parents) == 0 || index[k] {
					continue
				}
				index[k] = true
				t.Nodes = append(t.Nodes, apitypes.TreeNode{
					ResourceRef: apitypes.ResourceRef{Group: cl.gvk.Group, Kind: cl.gvk.Kind, Namespace: ns, Name: o.meta.Name},
					Version:     cl.gvk.Version, UID: string(o.meta.UID), ParentRefs: parents, Info: o.info,
				})
			}
		}
	}
	return t, nil
}

func (s *Server) needKube() error {
	if s.opts.Kube == nil {
		return newError(http.StatusNotImplemented, "NotImplemented", "this server has no Kubernetes client for live objects")
	}
	return nil
}

func (s *Server) appTree(w http.ResponseWriter, r *http.Request, p *Principal) error {
	_, t, _, err := s.readAppTree(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// readAppTree reads the app of the path, which p must be allowed to get,
// and its resource tree in its destination cluster, whose client it
// returns too.
func (s *Server) readAppTree(r *http.Request, p *Principal) (*sollv1.Application, *apitypes.Tree, kubernetes.Interface, error) {
	if err := s.needKube(); err != nil {
		return nil, nil, nil, err
	}
	app, err := s.readApp(r.Context(), p, actGet, r.PathValue("name"))
	if err != nil {
		return nil, nil, nil, err
	}
	kc, err := s.clusterKube(app)
	if err != nil {
		return nil, nil, nil, err
	}
	t, err := tree(r.Context(), kc, app)
	if err != nil {
		return nil, nil, nil, err
	}
	return app, t, kc, nil
}

// clusterKube returns the client of app's destination cluster.
func (s *Server) clusterKube(app *sollv1.Application) (kubernetes.Interface, error) {
	d := app.Spec.Destination
	if appstate.IsInCluster(d) {
		return s.opts.Kube, nil
	}
	if s.opts.ClusterKube == nil {
		return nil, newError(http.StatusNotImplemented, "NotImplemented", "this server reads no registered clusters, only the one it runs in")
	}
	kc, err := s.opts.ClusterKube(d)
	if err != nil {
		return nil, newError(http.StatusServiceUnavailable, "ClusterUnavailable", "the cluster of application %s: %v", app.Name, err)
	}
	return kc, nil
}

// appEvents lists the Events of the app itself and of the objects of its
// tree, newest first, at most maxEvents.
func (s *Server) appEvents(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ctx := r.Context()
	app, t, kc, err := s.readAppTree(r, p)
	if err != nil {
		return err
	}
	var out []apitypes.Event
	appEvents, err := s.opts.Kube.CoreV1().Events(s.opts.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=Application,involvedObject.name=" + app.Name, Limit: maxEvents,
	})
	if err != nil {
		return fmt.Errorf("list events of application %s: %w", app.Name, err)
	}
	out = appendEvents(out, appEvents.Items, func(corev1.Event) bool { return true })
	byNS := map[string]map[string]bool{}
	for _, n := range t.Nodes {
		if n.Namespace == "" {
			continue
		}
		if byNS[n.Namespace] == nil {
			byNS[n.Namespace] = map[string]bool{}
		}
		byNS[n.Namespace][n.Kind+"/"+n.Name] = true
	}
	for ns, objs := range byNS {
		l, err := kc.CoreV1().Events(ns).List(ctx, metav1.ListOptions{Limit: maxListItems})
		if err != nil {
			return fmt.Errorf("list events in namespace %s: %w", ns, err)
		}
		out = appendEvents(out, l.Items, func(e corev1.Event) bool { return objs[e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name] })
	}
	slices.SortStableFunc(out, func(a, b apitypes.Event) int { return b.LastTimestamp.Compare(a.LastTimestamp.Time) })
	if len(out) > maxEvents {
		out = out[:maxEvents]
	}
	writeJSON(w, http.StatusOK, apitypes.List[apitypes.Event]{Items: nonNil(out)})
	return nil
}

func appendEvents(out []apitypes.Event, items []corev1.Event, keep func(corev1.Event) bool) []apitypes.Event {
	for _, e := range items {
		if !keep(e) {
			continue
		}
		last := e.LastTimestamp
		if last.IsZero() {
			last = metav1.Time{Time: e.EventTime.Time}
		}
		first := e.FirstTimestamp
		if first.IsZero() {
			first = last
		}
		src := cmp.Or(e.ReportingController, e.Source.Component)
		group := ""
		if gv, err := schema.ParseGroupVersion(e.InvolvedObject.APIVersion); err == nil {
			group = gv.Group
		}
		count := e.Count
		if e.Series != nil {
			count = e.Series.Count
		}
		out = append(out, apitypes.Event{
			Type: e.Type, Reason: e.Reason, Message: e.Message, Count: count,
			FirstTimestamp: first, LastTimestamp: last, Source: src,
			InvolvedObject: apitypes.ResourceRef{Group: group, Kind: e.InvolvedObject.Kind, Namespace: e.InvolvedObject.Namespace, Name: e.InvolvedObject.Name},
		})
	}
	return out
}
