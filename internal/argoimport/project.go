package argoimport

import (
	"encoding/csv"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/rbac"
)

// project converts an Argo CD AppProject into a soll Project.
func (c *converter) project(in Input) {
	oc := c.begin(in)
	n := oc.root(in.Object, "")
	n.ignore("apiVersion", "kind", "status")
	p := &sollv1.Project{TypeMeta: metav1.TypeMeta{APIVersion: sollv1.GroupVersion.String(), Kind: "Project"}}
	p.ObjectMeta = c.objectMeta(n, false)
	for _, f := range n.md.strs("finalizers") {
		if !strings.Contains(f, "argoproj.io") {
			p.Finalizers = append(p.Finalizers, f)
		}
	}
	n.md.rest()
	if spec := n.child("spec"); spec != nil {
		c.projectSpec(spec, p)
		spec.rest()
	}
	n.rest()
	if p.Name == "default" && stockDefault(&p.Spec) {
		oc.note(Changed, "spec", "Argo CD's default project as installed allows everything, and so does soll's built-in default Project: left out")
		c.end(in, oc, nil)
		return
	}
	c.end(in, oc, p)
}

// stockDefault reports whether s is Argo CD's default project as Argo CD
// creates it: every repository, every destination, every kind.
func stockDefault(s *sollv1.ProjectSpec) bool {
	all := []sollv1.GroupKind{{Group: "*", Kind: "*"}}
	return reflect.DeepEqual(s, &sollv1.ProjectSpec{
		SourceRepos:              []string{"*"},
		Destinations:             []sollv1.ProjectDestination{{Server: "*", Namespace: "*"}},
		ClusterResourceAllowList: all,
	})
}

func groupKinds(n *node, key string) []sollv1.GroupKind {
	var out []sollv1.GroupKind
	for _, g := range n.list(key) {
		out = append(out, sollv1.GroupKind{Group: g.str("group"), Kind: g.str("kind")})
		g.rest()
	}
	return out
}

func (c *converter) projectSpec(spec *node, p *sollv1.Project) {
	oc := spec.c
	s := &p.Spec
	s.Description = spec.str("description")
	s.SourceRepos = spec.strs("sourceRepos")
	for _, d := range spec.list("destinations") {
		dest := sollv1.ProjectDestination{Server: d.str("server"), Name: d.str("name"), Namespace: d.str("namespace")}
		d.rest()
		if dest.Namespace == "" {
			oc.note(Changed, d.path+".namespace", "empty: in soll a destination names its namespaces; written as \"*\" (any namespace): narrow it if the project deploys cluster-scoped objects only")
			dest.Namespace = "*"
		}
		if dest.Namespace == c.o.ArgoNamespace {
			dest.Namespace = c.o.Namespace
			oc.note(Changed, d.path+".namespace", "Argo CD's namespace %s, where an app of apps deploys its Applications, becomes soll's namespace %s", c.o.ArgoNamespace, c.o.Namespace)
		}
		if dest.Server == "" && dest.Name == "" {
			oc.errorf(d.path, "set server or name (\"*\" for any cluster)")
		}
		s.Destinations = append(s.Destinations, dest)
	}
	s.SourceNamespaces = spec.strs("sourceNamespaces")
	s.ClusterResourceAllowList = groupKinds(spec, "clusterResourceWhitelist")
	s.ClusterResourceDenyList = groupKinds(spec, "clusterResourceBlacklist")
	s.NamespaceResourceAllowList = groupKinds(spec, "namespaceResourceWhitelist")
	s.NamespaceResourceDenyList = groupKinds(spec, "namespaceResourceBlacklist")
	for _, r := range spec.list("roles") {
		role := sollv1.ProjectRole{Name: r.str("name"), Description: r.str("description"), Groups: r.strs("groups")}
		for i, line := range r.strs("policies") {
			field := fmt.Sprintf("%s.policies[%d]", r.path, i)
			for _, t := range c.translateLine(oc, field, line) {
				if err := checkRolePolicy(p.Name, role.Name, t); err != nil {
					oc.note(NoEquivalent, field, "%s; the line %q is left out", err, t)
					continue
				}
				role.Policies = append(role.Policies, t)
			}
		}
		if tokens := r.list("jwtTokens"); len(tokens) > 0 {
			for _, t := range tokens {
				clear(t.m)
			}
			oc.note(NoEquivalent, r.path+".jwtTokens", "Argo CD's tokens cannot be moved (soll signs its own): issue new ones with soll proj role create-token %s %s and replace the old ones where they are used", p.Name, role.Name)
		}
		r.rest()
		role.Policies, role.Groups = dedupe(role.Policies), dedupe(role.Groups)
		s.Roles = append(s.Roles, role)
	}
	for _, w := range spec.list("syncWindows") {
		win := sollv1.SyncWindow{
			Kind: sollv1.SyncWindowKind(w.str("kind")), Schedule: w.str("schedule"), TimeZone: w.str("timeZone"),
			Applications: w.strs("applications"), Namespaces: w.strs("namespaces"), Clusters: w.strs("clusters"), ManualSync: w.boolean("manualSync"),
		}
		if d := duration(w, "duration"); d != nil {
			win.Duration = *d
		} else {
			oc.errorf(w.path+".duration", "missing")
		}
		if win.Kind != sollv1.SyncWindowAllow && win.Kind != sollv1.SyncWindowDeny {
			oc.errorf(w.path+".kind", "%q: want allow or deny", win.Kind)
		}
		if w.boolean("andOperator") {
			oc.note(NoEquivalent, w.path+".andOperator", "soll's windows match an app when any of applications, namespaces and clusters matches; to require all, narrow the lists (for example applications alone)")
		}
		w.drop("description", "soll's sync windows have no description; it is left out")
		w.rest()
		s.SyncWindows = append(s.SyncWindows, win)
	}
	if o := spec.child("orphanedResources"); o != nil {
		m := &sollv1.OrphanedResourcesMonitor{Warn: o.boolean("warn")}
		for _, k := range o.list("ignore") {
			m.Ignore = append(m.Ignore, sollv1.OrphanedResourceKey{Group: k.str("group"), Kind: k.str("kind"), Name: k.str("name")})
			k.rest()
		}
		o.rest()
		s.OrphanedResources = m
	}
	for _, k := range spec.list("signatureKeys") {
		s.SignatureKeys = append(s.SignatureKeys, sollv1.SignatureKey{KeyID: k.str("keyID")})
		k.rest()
	}
	s.SourceRepos, s.SourceNamespaces = dedupe(s.SourceRepos), dedupe(s.SourceNamespaces)
	if p.Name == "default" && !stockDefault(s) {
		oc.note(Changed, "metadata.name", "soll's built-in default Project allows everything but soll's own namespace while no Project default exists; the import creates one with Argo CD's settings")
	}
	spec.drop("permitOnlyProjectScopedClusters", "soll cannot register clusters yet, so none is scoped to a project; the field is left out")
	spec.drop("destinationServiceAccounts", "soll applies with its own service account; impersonation is left out: grant soll's service account only what the project's destinations need")
}

// checkRolePolicy checks a translated policy line the way soll checks a
// Project's roles.
func checkRolePolicy(proj, role, line string) error {
	p := &sollv1.Project{ObjectMeta: metav1.ObjectMeta{Name: proj}, Spec: sollv1.ProjectSpec{Roles: []sollv1.ProjectRole{{Name: role, Policies: []string{line}}}}}
	_, err := rbac.ProjectPolicies(p)
	var le *rbac.LineError
	if errors.As(err, &le) {
		return errors.New(le.Problem)
	}
	return err
}

// Argo CD's RBAC resources and actions that soll has.
var (
	argoResources = []string{"applications", "logs", "projects", "repositories", "clusters", "accounts", "*"}
	argoActions   = []string{"get", "create", "update", "delete", "sync", "override", "*"}
)

// splitCSV reads one policy line.
func splitCSV(line string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(line))
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	rec, err := r.Read()
	if err != nil {
		return nil, err
	}
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	return rec, nil
}

func joinCSV(fields []string) string {
	out := make([]string, len(fields))
	for i, f := range fields {
		if strings.ContainsAny(f, ",\"") {
			f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
		out[i] = f
	}
	return strings.Join(out, ", ")
}

// subject translates an Argo CD subject to soll's, where subjects have
// kinds: Argo CD's local accounts become user:<name>, names with an @ SSO
// users, other names without kind SSO groups.
func (c *converter) subject(oc *objConv, field, s string) string {
	switch {
	case strings.HasPrefix(s, "role:"), strings.HasPrefix(s, "proj:"):
		return s
	case s == "admin" || c.accounts[s]:
		oc.note(Changed, field, "%s is an Argo CD local account: written user:%s; create the account in soll (see soll account --help)", s, s)
		return "user:" + s
	case strings.Contains(s, "@"):
		oc.note(Changed, field, "%s is read as an SSO user by email: written sso:%s; if it is an SSO group, write group:%s", s, s, s)
		return "sso:" + s
	case strings.Contains(s, ":"):
		return "group:" + s
	}
	return s
}

// translateLine turns one Argo CD policy line into soll's, none when it
// has no equivalent (noted).
func (c *converter) translateLine(oc *objConv, field, line string) []string {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return nil
	}
	f, err := splitCSV(line)
	if err != nil || len(f) < 3 {
		oc.note(NoEquivalent, field, "%q is not a policy line; it is left out", line)
		return nil
	}
	switch f[0] {
	case "g":
		if len(f) != 3 {
			oc.note(NoEquivalent, field, "%q: a g line has a subject and a role; it is left out", line)
			return nil
		}
		role := f[2]
		if !strings.HasPrefix(role, "role:") && !strings.HasPrefix(role, "proj:") {
			role = "role:" + role
			oc.note(Changed, field, "the role %s is written %s", f[2], role)
		}
		return []string{joinCSV([]string{"g", c.subject(oc, field, f[1]), role})}
	case "p":
	default:
		oc.note(NoEquivalent, field, "%q is neither a p nor a g line; it is left out", line)
		return nil
	}
	if len(f) == 5 {
		f = append(f, "allow")
	}
	if len(f) != 6 {
		oc.note(NoEquivalent, field, "%q: a p line has subject, resource, action, object and effect; it is left out", line)
		return nil
	}
	sub, res, act, obj, eft := f[1], f[2], f[3], f[4], f[5]
	if !slices.Contains(argoResources, res) {
		oc.note(NoEquivalent, field, "soll has no %s resource; the line %q is left out", res, line)
		return nil
	}
	if !slices.Contains(argoActions, act) {
		oc.note(NoEquivalent, field, "soll has no action %s (it knows %s, rollback and *); the line %q is left out", act, strings.Join(argoActions[:len(argoActions)-1], ", "), line)
		return nil
	}
	if res == "applications" || res == "logs" {
		if parts := strings.Split(obj, "/"); len(parts) == 3 {
			obj = parts[0] + "/" + parts[2]
			oc.note(Changed, field, "soll's objects are <project>/<application>: %s is written %s (the Application namespace is left out)", f[4], obj)
		}
	}
	sub = c.subject(oc, field, sub)
	out := []string{joinCSV([]string{"p", sub, res, act, obj, eft})}
	if act == "sync" && (res == "applications" || res == "*") {
		out = append(out, joinCSV([]string{"p", sub, res, "rollback", obj, eft}))
		oc.note(Changed, field, "Argo CD's sync also permits rollback; soll has a rollback action of its own: a rollback line is added")
	}
	return out
}

// dedupe removes repeated entries, keeping the first; soll's lists are
// sets.
func dedupe(l []string) []string {
	if len(l) == 0 {
		return l
	}
	seen := map[string]bool{}
	out := l[:0:0]
	for _, s := range l {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
