package argoimport

import (
	"fmt"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
)

// source converts one source of an Application.
func (c *converter) source(s *node) sollv1.ApplicationSource {
	oc := s.c
	src := sollv1.ApplicationSource{
		RepoURL: s.str("repoURL"), TargetRevision: s.str("targetRevision"), Path: s.str("path"), Chart: s.str("chart"), Ref: s.str("ref"),
	}
	if src.RepoURL == "" {
		oc.errorf(s.field("repoURL"), "missing")
	}
	if strings.HasPrefix(src.Path, "/") {
		src.Path = strings.TrimLeft(src.Path, "/")
		oc.note(Changed, s.field("path"), "soll's paths are relative to the repository root: the leading / is left out")
	}
	s.drop("name", "soll names a source by its position (and ref); the name is left out")
	if h := s.child("helm"); h != nil {
		src.Helm = c.helm(h)
		h.rest()
	}
	if k := s.child("kustomize"); k != nil {
		src.Kustomize = c.kustomize(k)
		k.rest()
	}
	if d := s.child("directory"); d != nil {
		dir := &sollv1.DirectorySource{Recurse: d.boolean("recurse"), Include: splitGlob(d.str("include")), Exclude: splitGlob(d.str("exclude"))}
		if j := d.child("jsonnet"); j != nil {
			js := &sollv1.JsonnetSource{ExtVars: jsonnetVars(j, "extVars"), TLAs: jsonnetVars(j, "tlas"), Libs: j.strs("libs")}
			j.rest()
			if len(js.ExtVars)+len(js.TLAs)+len(js.Libs) > 0 {
				src.Jsonnet = js
				if dir.Recurse || len(dir.Include)+len(dir.Exclude) > 0 {
					oc.note(NoEquivalent, d.path, "soll's jsonnet sources evaluate the .jsonnet files directly in path; recurse, include and exclude are left out: move the files or split the app")
				}
				dir = nil
			}
		}
		if dir != nil && (dir.Recurse || len(dir.Include)+len(dir.Exclude) > 0) {
			src.Directory = dir
		}
		d.rest()
	}
	if p := s.child("plugin"); p != nil {
		src.Plugin = &sollv1.PluginSource{Name: p.str("name")}
		for _, e := range p.list("env") {
			src.Plugin.Env = append(src.Plugin.Env, sollv1.EnvEntry{Name: e.str("name"), Value: e.str("value")})
			e.rest()
		}
		if params := p.list("parameters"); len(params) > 0 {
			var names []string
			for _, pp := range params {
				names = append(names, pp.str("name"))
				clear(pp.m)
			}
			oc.note(NoEquivalent, p.field("parameters"), "soll's plugins take settings from env only: pass the parameters %s as env entries and read them in the plugin", strings.Join(names, ", "))
		}
		oc.note(Changed, p.path, "define the plugin %q in soll's settings (ConfigMap %s, key plugins.yaml); Argo CD's sidecar plugins do not run in soll", src.Plugin.Name, sollv1.SettingsConfigMap)
		p.rest()
	}
	// Argo CD picks the first of these it finds when several are set;
	// soll allows one.
	set := 0
	for _, b := range []bool{src.Helm != nil, src.Kustomize != nil, src.Directory != nil, src.Jsonnet != nil, src.Plugin != nil} {
		if b {
			set++
		}
	}
	if set > 1 {
		oc.errorf(s.path, "more than one of helm, kustomize, directory (with jsonnet) and plugin are set: keep the one the source needs")
	}
	return src
}

// splitGlob turns Argo CD's include/exclude pattern, which may list
// alternatives as {a,b}, into soll's list of patterns.
func splitGlob(p string) []string {
	if p == "" {
		return nil
	}
	if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") && !strings.ContainsAny(p[1:len(p)-1], "{}") {
		var out []string
		for _, s := range strings.Split(p[1:len(p)-1], ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return []string{p}
}

func jsonnetVars(n *node, key string) []sollv1.JsonnetVar {
	var out []sollv1.JsonnetVar
	for _, v := range n.list(key) {
		out = append(out, sollv1.JsonnetVar{Name: v.str("name"), Value: v.str("value"), Code: v.boolean("code")})
		v.rest()
	}
	return out
}

func (c *converter) helm(h *node) *sollv1.HelmSource {
	oc := h.c
	hs := &sollv1.HelmSource{
		ReleaseName: h.str("releaseName"), Namespace: h.str("namespace"), ValueFiles: h.strs("valueFiles"),
		IgnoreMissingValueFiles: h.boolean("ignoreMissingValueFiles"), SkipCrds: h.boolean("skipCrds"), SkipTests: h.boolean("skipTests"),
		PassCredentials: h.boolean("passCredentials"), KubeVersion: h.str("kubeVersion"), APIVersions: h.strs("apiVersions"),
	}
	values := h.str("values")
	if vo, ok := h.take("valuesObject"); ok {
		raw, err := jsonRaw(vo)
		if err != nil {
			oc.errorf(h.field("valuesObject"), "%v", err)
		}
		hs.ValuesObject = raw
		if values != "" {
			oc.note(Changed, h.field("values"), "Argo CD uses valuesObject when both are set; so does soll, which takes one: values is left out")
			values = ""
		}
	}
	hs.Values = values
	for _, p := range h.list("parameters") {
		hs.Parameters = append(hs.Parameters, sollv1.HelmParameter{Name: p.str("name"), Value: p.str("value"), ForceString: p.boolean("forceString")})
		p.rest()
	}
	for _, p := range h.list("fileParameters") {
		hs.FileParameters = append(hs.FileParameters, sollv1.HelmFileParameter{Name: p.str("name"), Path: p.str("path")})
		p.rest()
	}
	h.drop("version", "soll always renders with Helm 3; the version is left out")
	h.drop("skipSchemaValidation", "soll always validates values against the chart's schema: fix the values or the schema")
	return hs
}

func (c *converter) kustomize(k *node) *sollv1.KustomizeSource {
	oc := k.c
	ks := &sollv1.KustomizeSource{
		NamePrefix: k.str("namePrefix"), NameSuffix: k.str("nameSuffix"), Namespace: k.str("namespace"),
		CommonLabels: k.strMap("commonLabels"), CommonAnnotations: k.strMap("commonAnnotations"), Components: k.strs("components"),
	}
	for i, s := range k.strs("images") {
		img, err := kustomizeImage(s)
		if err != nil {
			oc.errorf(fmt.Sprintf("%s[%d]", k.field("images"), i), "%v", err)
			continue
		}
		ks.Images = append(ks.Images, img)
	}
	for _, r := range k.list("replicas") {
		count, _ := r.int32("count")
		ks.Replicas = append(ks.Replicas, sollv1.KustomizeReplica{Name: r.str("name"), Count: count})
		r.rest()
	}
	for _, p := range k.list("patches") {
		kp := sollv1.KustomizePatch{Path: p.str("path"), Patch: p.str("patch")}
		if t := p.child("target"); t != nil {
			kp.Target = &sollv1.KustomizeSelector{Group: t.str("group"), Version: t.str("version"), Kind: t.str("kind"), Name: t.str("name"),
				Namespace: t.str("namespace"), LabelSelector: t.str("labelSelector"), AnnotationSelector: t.str("annotationSelector")}
			t.rest()
		}
		if o := p.child("options"); o != nil {
			kp.Options = map[string]bool{}
			for key := range o.m {
				kp.Options[key] = o.boolean(key)
			}
		}
		p.rest()
		ks.Patches = append(ks.Patches, kp)
	}
	for _, f := range []struct{ key, advice string }{
		{"version", "soll renders with its built-in Kustomize; the version is left out"},
		{"forceCommonLabels", "soll's commonLabels always apply; forceCommonLabels is left out"},
		{"forceCommonAnnotations", "soll's commonAnnotations always apply; forceCommonAnnotations is left out"},
		{"commonAnnotationsEnvsubst", "soll does not substitute variables in commonAnnotations: write the values out"},
		{"labelWithoutSelector", "soll's commonLabels also set selectors: use a labels transformer in kustomization.yaml for labels without selectors"},
		{"labelIncludeTemplates", "use a labels transformer in kustomization.yaml"},
		{"kubeVersion", "soll passes the destination's version; the field is left out"},
		{"apiVersions", "soll passes the destination's API versions; the field is left out"},
		{"ignoreMissingComponents", "soll refuses missing components: remove them from the list"},
	} {
		k.drop(f.key, f.advice)
	}
	return ks
}

// kustomizeImage reads Argo CD's image override, written as kustomize edit
// set image takes it: [<name>=]<newName>[:<newTag>][@<digest>].
func kustomizeImage(s string) (sollv1.KustomizeImage, error) {
	var img sollv1.KustomizeImage
	old, repl, hasOld := strings.Cut(s, "=")
	if !hasOld {
		repl = s
	}
	if i := strings.Index(repl, "@"); i >= 0 {
		img.Digest = repl[i+1:]
		repl = repl[:i]
	}
	if i := strings.LastIndex(repl, ":"); i > strings.LastIndex(repl, "/") {
		img.NewTag = repl[i+1:]
		repl = repl[:i]
	}
	if hasOld {
		img.Name, img.NewName = old, repl
		if img.NewName == img.Name {
			img.NewName = ""
		}
	} else {
		img.Name = repl
	}
	switch {
	case img.Name == "":
		return img, fmt.Errorf("%q names no image: write [<name>=]<newName>[:<tag>][@<digest>]", s)
	case img.NewName == "" && img.NewTag == "" && img.Digest == "":
		return img, fmt.Errorf("%q changes nothing: add a new name, a tag or a digest", s)
	case img.NewTag != "" && img.Digest != "":
		img.NewTag = ""
	}
	return img, nil
}
