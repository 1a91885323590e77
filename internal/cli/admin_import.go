package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"soll.dev/internal/argoimport"
	"soll.dev/internal/backup"
)

// importFieldManager is the field manager of the objects soll admin
// import argocd applies.
const importFieldManager = "soll-import"

// importCmd holds the flags of soll admin import argocd.
type importCmd struct {
	kubeFlags
	kubeContext    string
	argoNamespace  string
	appNamespaces  []string
	files          []string
	dryRun         bool
	keepSyncPolicy bool
	showSecrets    bool
	overwrite      bool
	reportFile     string
	outputDir      string
	timeout        time.Duration
	// maxObjects bounds what is read from the cluster.
	maxObjects int
}

func newAdminImportCommand() *cobra.Command {
	rc := &restoreCmd{}
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Restore a backup of soll (-f), or import the configuration of another delivery tool",
		Long: "soll admin import -f FILE restores a backup written by soll admin export into the namespace -n, " +
			"which should hold no soll objects yet: the whole file is checked first (kinds, names, one namespace, the Secrets decrypted with --age-identity) " +
			"and nothing is applied when anything is wrong. The objects are applied with server-side apply (field manager " + restoreFieldManager + "), " +
			"Projects first, then Secrets, settings ConfigMaps and Applications; existing objects are refused unless --overwrite. " +
			"Applications come without operation, so nothing syncs twice, and those with automated prune have it turned off " +
			"and carry the annotation " + backup.PruneOffAnnotation + ": the controller turns prune on again after their first successful comparison, " +
			"so that the first automated sync after the restore deletes nothing.\n\n" +
			"soll admin import argocd converts an Argo CD installation instead.",
		Example: "  # Check a backup and see what it would apply.\n" +
			"  soll admin import -f soll-backup.yaml --age-identity key.txt -n soll --dry-run\n" +
			"  # Restore it.\n" +
			"  soll admin import -f soll-backup.yaml --age-identity key.txt -n soll",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return rc.run(cmd) },
	}
	rc.registerFlags(cmd)
	cmd.AddCommand(newImportArgoCDCommand(&importCmd{}))
	return cmd
}

func newImportArgoCDCommand(ic *importCmd) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "argocd",
		Short: "Convert an Argo CD installation's applications, projects, credentials and settings to soll's",
		Long: "Convert an Argo CD installation to soll: Applications, AppProjects (as Projects), repository and credential-template Secrets, " +
			"the RBAC policy of argocd-rbac-cm, the health scripts and ignore rules of argocd-cm and the SSH known hosts.\n\n" +
			"The objects are read from the cluster of your kubeconfig (in --argocd-namespace), or from exported YAML files and directories (-f). " +
			"They are applied to soll's namespace (-n) with server-side apply, Projects first, then Secrets, settings and Applications; " +
			"existing Secrets are kept unless --overwrite. --dry-run prints the objects instead (Secret values masked unless --show-secrets), " +
			"and --output-dir writes them as files, each next to where its input was, which converts a repository of Argo CD Applications (an app of apps).\n\n" +
			"Imported applications start with automated sync off, unless --keep-sync-policy, so that the first comparison can be checked before soll takes over, " +
			"and with syncOptions.adoptExisting, so that their first sync takes over the objects Argo CD deployed. The Argo CD objects are never changed.\n\n" +
			"A report lists every field without equivalent in soll and what to do about it, per object: on stderr, or in --report FILE (Markdown for .md, YAML for .yaml).",
		Example: "  # See what an installation becomes, and what has no equivalent.\n" +
			"  soll admin import argocd --dry-run --report import.md\n" +
			"  # Import it into soll's namespace.\n" +
			"  soll admin import argocd --argocd-namespace argocd -n soll\n" +
			"  # Convert a directory of Argo CD Applications (an app of apps) for Git.\n" +
			"  soll admin import argocd -f apps/ --output-dir apps-soll/",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return ic.run(cmd) },
	}
	ic.register(cmd, "soll's namespace, where the objects are applied")
	fl := cmd.Flags()
	fl.StringVar(&ic.kubeContext, "kube-context", "", "kubeconfig context to use (default: the current one)")
	fl.StringVar(&ic.argoNamespace, "argocd-namespace", "argocd", "Argo CD's namespace: where its objects are read, and the namespace in files that becomes soll's")
	fl.StringArrayVar(&ic.appNamespaces, "application-namespace", nil, "also read the Applications of this namespace (Argo CD's applications in any namespace; repeatable); they keep their namespace")
	fl.StringArrayVarP(&ic.files, "filename", "f", nil, "read the Argo CD objects from this YAML or JSON file or directory instead of the cluster (repeatable)")
	fl.BoolVar(&ic.dryRun, "dry-run", false, "print the soll objects as YAML instead of applying them")
	fl.BoolVar(&ic.keepSyncPolicy, "keep-sync-policy", false, "keep automated sync on for the applications that have it")
	fl.BoolVar(&ic.showSecrets, "show-secrets", false, "print the values of Secrets with --dry-run and --output-dir instead of masks")
	fl.BoolVar(&ic.overwrite, "overwrite", false, "replace existing Secrets and files, and take over fields other managers own")
	fl.StringVar(&ic.reportFile, "report", "", "write the report to this file (.md: Markdown, .yaml or .yml: YAML) instead of stderr")
	fl.StringVar(&ic.outputDir, "output-dir", "", "write the soll objects as files into this directory instead of applying them")
	fl.DurationVar(&ic.timeout, "timeout", 5*time.Minute, "time allowed for reading and applying")
	ic.maxObjects = 20000
	return cmd
}

func (ic *importCmd) run(cmd *cobra.Command) error {
	if ic.dryRun && ic.outputDir != "" {
		return errors.New("--dry-run and --output-dir both say where the objects go: pass one")
	}
	if ic.reportFile != "" {
		if _, err := reportWriter(ic.reportFile); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), ic.timeout)
	defer cancel()
	opts := argoimport.Options{ArgoNamespace: ic.argoNamespace, Namespace: ic.namespace, KeepSyncPolicy: ic.keepSyncPolicy}
	var inputs []argoimport.Input
	var c client.Client
	var err error
	if len(ic.files) > 0 {
		inputs, err = argoimport.ReadFiles(ic.files, argoimport.Limits{MaxObjects: ic.maxObjects})
		if err != nil {
			return err
		}
	} else {
		if c, err = ic.client(); err != nil {
			return err
		}
		if inputs, err = readArgoCD(ctx, c, ic.argoNamespace, ic.appNamespaces, ic.maxObjects); err != nil {
			return err
		}
	}
	if len(inputs) == 0 {
		return fmt.Errorf("found no objects to import: check %s", ic.where())
	}
	res, err := argoimport.Convert(inputs, opts)
	if err != nil {
		return err
	}
	var applyErr error
	switch {
	case ic.dryRun:
		applyErr = printObjects(cmd.OutOrStdout(), res, ic.showSecrets)
	case ic.outputDir != "":
		applyErr = ic.writeDir(cmd.OutOrStdout(), res)
	default:
		if c == nil {
			if c, err = ic.client(); err != nil {
				return err
			}
		}
		applyErr = ic.apply(ctx, cmd.OutOrStdout(), c, res)
	}
	if err := ic.writeReport(cmd.ErrOrStderr(), &res.Report); err != nil {
		return errors.Join(applyErr, err)
	}
	return applyErr
}

func (ic *importCmd) where() string {
	if len(ic.files) > 0 {
		return strings.Join(ic.files, ", ")
	}
	return "namespace " + ic.argoNamespace + " (--argocd-namespace) of the cluster of your kubeconfig"
}

// client returns a client for the kubeconfig context of --kube-context.
func (ic *importCmd) client() (client.Client, error) {
	return ic.contextClient(ic.kubeContext)
}

// argoKinds are the Argo CD kinds read from a cluster; ApplicationSets only
// for the report.
var argoKinds = []string{"AppProject", "Application", "ApplicationSet"}

// readArgoCD reads Argo CD's objects in namespace ns: its Applications,
// AppProjects and ApplicationSets, its labelled Secrets and its
// ConfigMaps, and the Applications of appNamespaces. It only reads.
func readArgoCD(ctx context.Context, c client.Reader, ns string, appNamespaces []string, limit int) ([]argoimport.Input, error) {
	var inputs []argoimport.Input
	add := func(obj runtime.Object) error {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return err
		}
		inputs = append(inputs, argoimport.Input{Object: m})
		if len(inputs) > limit {
			return fmt.Errorf("namespace %s holds more than %d Argo CD objects: export them and import the files a part at a time (-f)", ns, limit)
		}
		return nil
	}
	type kindIn struct{ kind, ns string }
	var lists []kindIn
	for _, k := range argoKinds {
		lists = append(lists, kindIn{k, ns})
	}
	for _, n := range appNamespaces {
		if n != ns {
			lists = append(lists, kindIn{"Application", n})
		}
	}
	for _, l := range lists {
		k := l.kind
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(schema.GroupVersionKind{Group: argoimport.ArgoGroup, Version: "v1alpha1", Kind: k + "List"})
		err := listPages(ctx, c, list, l.ns, nil, func() error {
			for i := range list.Items {
				if err := add(&list.Items[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			if k == "Application" {
				return nil, fmt.Errorf("the cluster does not know Argo CD's Applications (argoproj.io): check --kubeconfig and --kube-context, or import exported files with -f")
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list Argo CD %ss in namespace %s: %w", k, l.ns, err)
		}
	}
	var secrets corev1.SecretList
	err := listPages(ctx, c, &secrets, ns, client.HasLabels{argoimport.ArgoSecretTypeLabel}, func() error {
		for i := range secrets.Items {
			s := &secrets.Items[i]
			s.APIVersion, s.Kind = "v1", "Secret"
			if err := add(s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list Argo CD's Secrets in namespace %s: %w", ns, err)
	}
	for _, name := range []string{argoimport.ArgoCM, argoimport.ArgoRBACCM, argoimport.ArgoKnownHostsCM, argoimport.ArgoTLSCertsCM, argoimport.ArgoNotificationsCM} {
		var cm corev1.ConfigMap
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &cm)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read ConfigMap %s/%s: %w", ns, name, err)
		}
		cm.APIVersion, cm.Kind = "v1", "ConfigMap"
		if err := add(&cm); err != nil {
			return nil, err
		}
	}
	return inputs, nil
}

// listPages lists into list page by page, calling each after each page.
func listPages(ctx context.Context, c client.Reader, list client.ObjectList, ns string, sel client.ListOption, each func() error) error {
	opts := []client.ListOption{client.InNamespace(ns), client.Limit(500)}
	if sel != nil {
		opts = append(opts, sel)
	}
	cont := ""
	for {
		if err := c.List(ctx, list, append(opts, client.Continue(cont))...); err != nil {
			return err
		}
		if err := each(); err != nil {
			return err
		}
		lm, err := meta.ListAccessor(list)
		if err != nil {
			return err
		}
		if cont = lm.GetContinue(); cont == "" {
			return nil
		}
	}
}

// printObjects writes the converted objects as a YAML stream.
func printObjects(w io.Writer, res *argoimport.Result, showSecrets bool) error {
	var b bytes.Buffer
	for _, o := range res.Objects {
		if o.Unchanged {
			continue
		}
		y, err := argoimport.Encode(o.Object, showSecrets)
		if err != nil {
			return err
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeDir writes the objects into ic.outputDir: those read from a file
// into the file of the same relative path, the others (read from a
// cluster) into <kind>-<name>.yaml. Objects that are not Argo CD's are
// copied as they are, so that a converted directory stays complete.
func (ic *importCmd) writeDir(w io.Writer, res *argoimport.Result) error {
	files := map[string]*bytes.Buffer{}
	var order []string
	for _, o := range res.Objects {
		rel := o.Rel
		if rel == "" {
			rel = strings.ToLower(o.Object.GetObjectKind().GroupVersionKind().Kind) + "-" + o.Object.GetName() + ".yaml"
		}
		y, err := argoimport.Encode(o.Object, ic.showSecrets)
		if err != nil {
			return err
		}
		b := files[rel]
		if b == nil {
			b = &bytes.Buffer{}
			files[rel] = b
			order = append(order, rel)
		} else {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	root, err := filepath.Abs(ic.outputDir)
	if err != nil {
		return err
	}
	for _, rel := range order {
		path := filepath.Join(root, rel)
		if !strings.HasPrefix(path, root+string(filepath.Separator)) {
			return fmt.Errorf("%s would be written outside --output-dir", rel)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
		if ic.overwrite {
			flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		}
		f, err := os.OpenFile(path, flags, 0o600)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists: choose an empty --output-dir, or pass --overwrite", path)
		}
		if err != nil {
			return err
		}
		_, err = f.Write(files[rel].Bytes())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "wrote %s\n", path); err != nil {
			return err
		}
	}
	return nil
}

// apply applies the converted objects in their order. Secrets are only
// created unless --overwrite; everything else is applied server-side,
// taking over fields of other managers only with --overwrite. Errors are
// collected so that one bad object does not stop the others; so is the
// first error writing to w, which is returned last.
func (ic *importCmd) apply(ctx context.Context, w io.Writer, c client.Client, res *argoimport.Result) error {
	var errs []error
	var werr error
	say := func(format string, args ...any) {
		if werr == nil {
			_, werr = fmt.Fprintf(w, format, args...)
		}
	}
	for _, o := range res.Objects {
		if o.Unchanged {
			say("%s %s in %s is not Argo CD's: left alone\n", strings.ToLower(o.Object.GetObjectKind().GroupVersionKind().Kind), o.Object.GetName(), o.File)
			continue
		}
		gvk := o.Object.GetObjectKind().GroupVersionKind()
		what := strings.ToLower(gvk.Kind) + " " + o.Object.GetNamespace() + "/" + o.Object.GetName()
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o.Object)
		if err != nil {
			return err
		}
		delete(m, "status")
		if md, ok := m["metadata"].(map[string]any); ok {
			delete(md, "creationTimestamp")
		}
		u := &unstructured.Unstructured{Object: m}
		if gvk.Kind == "Secret" && gvk.Group == "" && !ic.overwrite {
			err := c.Create(ctx, u, client.FieldOwner(importFieldManager))
			switch {
			case apierrors.IsAlreadyExists(err):
				say("%s exists, kept (pass --overwrite to replace it)\n", what)
			case err != nil:
				errs = append(errs, fmt.Errorf("create %s: %s", what, importAPIError(err)))
			default:
				say("%s created\n", what)
			}
			continue
		}
		opts := []client.ApplyOption{client.FieldOwner(importFieldManager)}
		if ic.overwrite {
			opts = append(opts, client.ForceOwnership)
		}
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), opts...); err != nil {
			if apierrors.IsConflict(err) {
				errs = append(errs, fmt.Errorf("apply %s: fields of it are owned by someone else (%s): check the existing object, and pass --overwrite to take them over", what, apiMessage(err)))
				continue
			}
			errs = append(errs, fmt.Errorf("apply %s: %s", what, importAPIError(err)))
			continue
		}
		say("%s applied\n", what)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of the objects could not be applied:\n%w", len(errs), errors.Join(errs...))
	}
	return werr
}

func importAPIError(err error) string {
	switch {
	case meta.IsNoMatchError(err):
		return "the cluster does not know soll's CRDs: install them with soll install --apply"
	case apierrors.IsInvalid(err):
		return "the API server rejected it:\n" + invalidCauses(err)
	case apierrors.IsForbidden(err):
		return "forbidden: " + apiMessage(err)
	}
	return err.Error()
}

// reportWriter returns how to write a report into file, by its extension.
func reportWriter(file string) (func(*argoimport.Report, io.Writer) error, error) {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".md", ".markdown":
		return (*argoimport.Report).WriteMarkdown, nil
	case ".yaml", ".yml":
		return (*argoimport.Report).WriteYAML, nil
	case ".txt":
		return (*argoimport.Report).WriteText, nil
	}
	return nil, fmt.Errorf("--report %s: name a .md (Markdown), .yaml or .txt file", file)
}

func (ic *importCmd) writeReport(stderr io.Writer, r *argoimport.Report) error {
	if ic.reportFile == "" {
		return r.WriteText(stderr)
	}
	write, err := reportWriter(ic.reportFile)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := write(r, &b); err != nil {
		return err
	}
	if err := os.WriteFile(ic.reportFile, b.Bytes(), 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stderr, "report written to %s: %d fields without equivalent, %d changed, %d kept for later\n",
		ic.reportFile, r.Count(argoimport.NoEquivalent), r.Count(argoimport.Changed), r.Count(argoimport.Kept))
	return err
}
