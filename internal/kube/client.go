package kube

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/sync/semaphore"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"soll.dev/internal/resource"
)

// FieldManager is the field manager of every apply soll makes.
const FieldManager = "soll"

// Client applies, reads and deletes objects of any kind.
type Client struct {
	dyn    dynamic.Interface
	disco  discovery.CachedDiscoveryInterface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	memo   *memoMapper         // mapper's answers
	writes *semaphore.Weighted // nil: unlimited
}

// LimitWrites bounds the writes (applies, dry runs included, creates and
// deletes) in flight at once through c; n <= 0 means no limit. Call it
// before the first write.
//
// The API server handles some writes one at a time (a Service's cluster
// IP is allocated under a lock, by a request of its own), and every
// request in flight slows those down: a fleet of syncs that each apply
// their objects in parallel is faster overall with fewer writes at once.
func (c *Client) LimitWrites(n int) {
	if n > 0 {
		c.writes = semaphore.NewWeighted(int64(n))
	}
}

// write waits for a write slot; the returned func frees it.
func (c *Client) write(ctx context.Context) (func(), error) {
	if c.writes == nil {
		return func() {}, nil
	}
	if err := c.writes.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	return func() { c.writes.Release(1) }, nil
}

// New returns a Client for cfg. The caller sets cfg's rate limits; the
// engine is designed for QPS well above client-go's default of 5.
func New(cfg *rest.Config) (*Client, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create discovery client: %w", err)
	}
	cached := memory.NewMemCacheClient(dc)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(cached)
	return &Client{dyn: dyn, disco: cached, mapper: mapper, memo: &memoMapper{RESTMapper: mapper}}, nil
}

// ServerInfo returns the cluster's version ("v1.37.2") and the API versions
// it serves, as Helm's .Capabilities.APIVersions lists them: every
// "group/version" and every "group/version/Kind", sorted. Resource lists
// come from the discovery cache the REST mapper shares.
func (c *Client) ServerInfo() (version string, apiVersions []string, err error) {
	v, err := c.disco.ServerVersion()
	if err != nil {
		return "", nil, fmt.Errorf("read the cluster version: %w", err)
	}
	_, lists, err := c.disco.ServerGroupsAndResources()
	if err != nil && len(lists) == 0 {
		return "", nil, fmt.Errorf("discover the cluster's APIs: %w", err)
	}
	seen := map[string]bool{}
	for _, l := range lists {
		seen[l.GroupVersion] = true
		for _, r := range l.APIResources {
			if !strings.Contains(r.Name, "/") {
				seen[l.GroupVersion+"/"+r.Kind] = true
			}
		}
	}
	apiVersions = slices.Sorted(maps.Keys(seen))
	return v.GitVersion, apiVersions, nil
}

// Mapping resolves a group/version/kind, refreshing discovery once when the
// kind is unknown.
func (c *Client) Mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.memo.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		c.mapper.Reset()
		c.memo.forget()
		m, err = c.memo.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("resolve kind %s: %w", gvk, err)
	}
	return m, nil
}

// IsUnknownKind reports an error of Mapping (or of any call through it)
// saying that the cluster does not serve the kind, as before its CRD is
// installed.
func IsUnknownKind(err error) bool { return meta.IsNoMatchError(err) }

// Namespaced reports whether objects of gvk live in namespaces.
func (c *Client) Namespaced(gvk schema.GroupVersionKind) (bool, error) {
	m, err := c.Mapping(gvk)
	if err != nil {
		return false, err
	}
	return m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

func (c *Client) resourceFor(gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, error) {
	m, err := c.Mapping(gvk)
	if err != nil {
		return nil, err
	}
	return c.resource(m, namespace), nil
}

func (c *Client) resource(m *meta.RESTMapping, namespace string) dynamic.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.dyn.Resource(m.Resource).Namespace(namespace)
	}
	return c.dyn.Resource(m.Resource)
}

// resourceToWrite is resourceFor obj, refusing an object of a
// cluster-scoped kind that names a namespace: its kind was not served when
// its namespace was defaulted (its CRD was installed since), so it was
// taken for namespaced, and its tracking annotation and the Project's
// checks took it for one too. The next comparison knows the scope.
func (c *Client) resourceToWrite(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	m, err := c.Mapping(gvk)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace && obj.GetNamespace() != "" {
		return nil, fmt.Errorf("%s %s is cluster-scoped but was compared as a namespaced object of namespace %s (the cluster did not serve its kind then): compare the application again",
			gvk.Kind, obj.GetName(), obj.GetNamespace())
	}
	return c.resource(m, obj.GetNamespace()), nil
}

// Apply server-side-applies obj with soll's field manager, taking over
// conflicting fields (the desired state in Git wins). With dryRun the API
// server computes the result, defaults and admission included, and
// persists nothing.
func (c *Client) Apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	return c.apply(ctx, obj, dryRun, true)
}

// ApplyNoForce is Apply without taking over fields: when obj sets a field
// that another field manager set to another value, the API server refuses
// the apply with a conflict (apierrors.IsConflict) whose causes name each
// field and manager, and changes nothing.
func (c *Client) ApplyNoForce(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	return c.apply(ctx, obj, dryRun, false)
}

func (c *Client) apply(ctx context.Context, obj *unstructured.Unstructured, dryRun, force bool) (*unstructured.Unstructured, error) {
	ri, err := c.resourceToWrite(obj)
	if err != nil {
		return nil, err
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: force}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	done, err := c.write(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return ri.Apply(ctx, obj.GetName(), obj, opts)
}

// Create creates obj (used for hooks with generateName, which apply cannot
// name), with soll's field manager.
func (c *Client) Create(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, err := c.resourceToWrite(obj)
	if err != nil {
		return nil, err
	}
	done, err := c.write(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	return ri.Create(ctx, obj, metav1.CreateOptions{FieldManager: FieldManager})
}

// Get reads the live object for key at the given API version. It returns
// (nil, nil) when the object does not exist.
func (c *Client) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	return c.get(ctx, gvk, namespace, name, metav1.GetOptions{})
}

// GetRecent is Get served from the API server's own cache (resource
// version "0"): it costs the API server no storage read, and may miss the
// last moments' changes. For checks that a later write settles anyway,
// such as whether an object about to be applied exists.
func (c *Client) GetRecent(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	return c.get(ctx, gvk, namespace, name, metav1.GetOptions{ResourceVersion: "0"})
}

func (c *Client) get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, opts metav1.GetOptions) (*unstructured.Unstructured, error) {
	ri, err := c.resourceFor(gvk, namespace)
	if err != nil {
		return nil, err
	}
	u, err := ri.Get(ctx, name, opts)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return u, err
}

// Delete deletes the object with the given propagation policy. A missing
// object is not an error.
func (c *Client) Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, policy metav1.DeletionPropagation, uid string) error {
	ri, err := c.resourceFor(gvk, namespace)
	if err != nil {
		return err
	}
	opts := metav1.DeleteOptions{PropagationPolicy: &policy}
	if uid != "" {
		// Delete exactly the object we looked at, never a successor
		// created under the same name meanwhile.
		u := types.UID(uid)
		opts.Preconditions = &metav1.Preconditions{UID: &u}
	}
	done, err := c.write(ctx)
	if err != nil {
		return err
	}
	defer done()
	err = ri.Delete(ctx, name, opts)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// List lists objects of gvk in namespace ("" for all or cluster-scoped)
// matching the label selector.
func (c *Client) List(ctx context.Context, gvk schema.GroupVersionKind, namespace, selector string) ([]unstructured.Unstructured, error) {
	ri, err := c.resourceFor(gvk, namespace)
	if err != nil {
		return nil, err
	}
	l, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// KeyGVK returns the GVK to read key with, given the API version of the
// desired manifest.
func KeyGVK(k resource.Key, version string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: k.Group, Version: version, Kind: k.Kind}
}
