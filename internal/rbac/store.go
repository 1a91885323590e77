package rbac

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
)

// The ConfigMap that holds the policy, in soll's namespace, and its keys.
const (
	ConfigMapName = "soll-rbac"
	KeyPolicy     = "policy.csv"
	KeyDefault    = "policy.default"
)

// Store serves the current Enforcer of a running soll, built from the
// ConfigMap soll-rbac and the roles of the Projects in soll's namespace.
// Load reads them and rebuilds the Enforcer only when the ConfigMap's or a
// Project's resourceVersion changed, so calling it often through a cached
// client is cheap; Run does so periodically.
//
// A bad edit never widens or cuts off access by surprise: when the
// ConfigMap's policy does not parse, the Store keeps serving the last good
// one, and a Project whose roles do not parse keeps its last good roles.
// Err reports such problems until they are fixed. When soll starts with a
// bad ConfigMap there is no last good policy: the Store then fails closed
// and serves the built-in policy alone, without the default role and the
// Projects' roles, so that only the local account admin has access (to
// role:admin) and everyone else is denied. A missing ConfigMap is not a
// problem: the policy is then the built-in one plus the Projects' roles.
type Store struct {
	reader    client.Reader
	namespace string

	current atomic.Pointer[Enforcer]

	mu sync.Mutex // serializes Load and guards the fields below
	// version identifies the objects current was built from; empty until
	// the first successful read.
	version string
	// base is the last good base policy; nil until one parsed.
	base *Policy
	// projects are the last good roles of each Project, by name and uid.
	projects map[string]*sollv1.Project
	// readErr is the error of the last read, buildErr that of the last
	// rebuild.
	readErr, buildErr error
}

// NewStore returns a Store that reads the ConfigMap and the Projects in
// namespace through r. Until the first Load it denies everything but the
// local account admin.
func NewStore(r client.Reader, namespace string) *Store {
	s := &Store{reader: r, namespace: namespace, projects: map[string]*sollv1.Project{}}
	s.current.Store(builtinEnforcer())
	return s
}

// builtinEnforcer serves the built-in policy alone.
func builtinEnforcer() *Enforcer {
	e, err := Parse(Policy{})
	if err != nil {
		panic(err) // the built-in policy is covered by tests
	}
	return e
}

// Enforcer returns the current Enforcer; it is never nil.
func (s *Store) Enforcer() *Enforcer { return s.current.Load() }

// Allowed decides a request with the current Enforcer; see
// Enforcer.Allowed.
func (s *Store) Allowed(subjects []Subject, resource, action, object string) bool {
	return s.current.Load().Allowed(subjects, resource, action, object)
}

// Err reports why the current Enforcer is not built from the ConfigMap and
// Projects as they are now: a policy that does not parse or a failed read.
// It is nil when everything is in effect.
func (s *Store) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errLocked()
}

func (s *Store) errLocked() error { return errors.Join(s.readErr, s.buildErr) }

// Run calls Load every interval, and at once whenever wake (which may be
// nil) receives, until ctx is done, reporting each error to onErr (which
// may be nil) when it differs from the previous one. A watch of the
// ConfigMap and the Projects wakes it, so that a change applies at once;
// the interval retries failed reads.
func (s *Store) Run(ctx context.Context, interval time.Duration, wake <-chan struct{}, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last string
	for {
		err := s.Load(ctx)
		if msg := fmt.Sprint(err); err != nil && msg != last && onErr != nil {
			onErr(err)
			last = msg
		} else if err == nil {
			last = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}

// Load reads the ConfigMap and the Projects and rebuilds the Enforcer when
// they changed. It returns the same error Err reports afterwards.
func (s *Store) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cm, projects, err := Read(ctx, s.reader, s.namespace)
	// On a read error keep the current Enforcer: a transient failure must
	// not change who may do what.
	s.readErr = err
	if err == nil {
		if version := versionOf(cm, projects); version != s.version {
			s.version = version
			s.buildErr = s.rebuild(cm, projects)
		}
	}
	return s.errLocked()
}

// Read returns the ConfigMap soll-rbac in namespace (nil when it does not
// exist) and the Projects there.
func Read(ctx context.Context, r client.Reader, namespace string) (*corev1.ConfigMap, []sollv1.Project, error) {
	cm := &corev1.ConfigMap{}
	err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ConfigMapName}, cm)
	switch {
	case apierrors.IsNotFound(err):
		cm = nil
	case err != nil:
		return nil, nil, fmt.Errorf("read configmap %s/%s: %w", namespace, ConfigMapName, err)
	}
	var list sollv1.ProjectList
	if err := r.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, nil, fmt.Errorf("list projects in namespace %s: %w", namespace, err)
	}
	return cm, list.Items, nil
}

// PolicyOf returns the policy in cm; a nil cm holds the empty policy.
func PolicyOf(cm *corev1.ConfigMap) Policy {
	if cm == nil {
		return Policy{}
	}
	return Policy{CSV: cm.Data[KeyPolicy], Default: cm.Data[KeyDefault]}
}

// versionOf identifies the state of the objects by their resourceVersions.
func versionOf(cm *corev1.ConfigMap, projects []sollv1.Project) string {
	var b strings.Builder
	if cm != nil {
		b.WriteString(string(cm.UID) + "@" + cm.ResourceVersion)
	} else {
		b.WriteString("-")
	}
	keys := make([]string, 0, len(projects))
	for _, p := range projects {
		keys = append(keys, string(p.UID)+"@"+p.ResourceVersion)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(" " + k)
	}
	return b.String()
}

// rebuild builds the Enforcer from the objects, falling back to the last
// good base policy and Project roles where they do not parse.
func (s *Store) rebuild(cm *corev1.ConfigMap, projects []sollv1.Project) error {
	var errs []error
	base := PolicyOf(cm)
	// Parse the base alone first so that its errors are told apart from
	// those of the Projects.
	if _, err := Parse(base); err != nil {
		errs = append(errs, fmt.Errorf("configmap %s/%s: %w", s.namespace, ConfigMapName, err))
		if s.base == nil {
			// Fail closed: no last good policy to keep.
			s.current.Store(builtinEnforcer())
			s.projects = map[string]*sollv1.Project{}
			errs = append(errs, errors.New("no earlier policy to keep: only the built-in policy is in effect (the local account admin has role:admin, everyone else is denied)"))
			return errors.Join(errs...)
		}
		errs = append(errs, errors.New("keeping the last good policy"))
		base = *s.base
	} else {
		s.base = &base
	}

	good := map[string]*sollv1.Project{}
	use := make([]*sollv1.Project, 0, len(projects))
	for i := range projects {
		p := &projects[i]
		key := p.Name + "/" + string(p.UID)
		if _, err := ProjectPolicies(p); err != nil {
			if last := s.projects[key]; last != nil {
				errs = append(errs, fmt.Errorf("%w (keeping the project's last good roles)", err))
				good[key] = last
				use = append(use, last)
			} else {
				errs = append(errs, fmt.Errorf("%w (the project's roles grant nothing until this is fixed)", err))
			}
			continue
		}
		good[key] = p
		use = append(use, p)
	}
	e, err := Parse(base, use...)
	if err != nil {
		// Not expected: every part parsed on its own above.
		errs = append(errs, fmt.Errorf("keeping the last good policy: %w", err))
		return errors.Join(errs...)
	}
	s.projects = good
	s.current.Store(e)
	return errors.Join(errs...)
}
