package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	filippoage "filippo.io/age"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/backup"
	"soll.dev/internal/version"
)

// restoreFieldManager is the field manager of the objects soll admin
// import -f applies.
const restoreFieldManager = "soll-restore"

// maxBackupSize bounds the backup file soll admin import -f reads.
const maxBackupSize = 64 << 20

// exportCmd holds the flags of soll admin export.
type exportCmd struct {
	kubeFlags
	kubeContext    string
	output         string
	includeSecrets bool
	recipients     []string
	timeout        time.Duration
	maxObjects     int
}

func newAdminExportCommand() *cobra.Command {
	ec := &exportCmd{maxObjects: 50000}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a backup of soll's objects as YAML",
		Long: "Write every soll object of the namespace (-n) as one multi-document YAML: Projects, Applications, the settings ConfigMaps (" +
			strings.Join(backup.SettingsConfigMaps, ", ") + ") and the Secrets soll reads. " +
			"Objects are written without what belongs to the cluster (status, uid, resourceVersion, managedFields, creationTimestamp, generation) " +
			"and Applications without an operation in flight; labels, annotations and finalizers are kept.\n\n" +
			"Secrets are written only with --include-secrets, and then only encrypted with age to every --age-recipient, as one armored block. " +
			"Without it, repository Secrets are written as references (name, type, URL, Project; no credential), " +
			"which soll admin import lists as Secrets to recreate.\n\n" +
			"Restore a backup with soll admin import -f FILE.",
		Example: "  # Back up namespace soll, Secrets encrypted to an age key.\n" +
			"  soll admin export -n soll --include-secrets --age-recipient age1... -o soll-backup.yaml\n" +
			"  # Back up without Secrets.\n" +
			"  soll admin export > soll-backup.yaml",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return ec.run(cmd) },
	}
	ec.registerOn(cmd.Flags(), "soll's namespace, whose objects are written")
	fl := cmd.Flags()
	fl.StringVar(&ec.kubeContext, "kube-context", "", "kubeconfig context to use (default: the current one)")
	fl.StringVarP(&ec.output, "output", "o", "", "write the backup to this file (created with mode 0600) instead of stdout")
	fl.BoolVar(&ec.includeSecrets, "include-secrets", false, "also write the Secrets soll reads, encrypted to --age-recipient")
	fl.StringArrayVar(&ec.recipients, "age-recipient", nil, "age public key (age1...) or SSH public key to encrypt the Secrets to (repeatable; needs --include-secrets)")
	fl.DurationVar(&ec.timeout, "timeout", 5*time.Minute, "time allowed for reading the objects")
	return cmd
}

func (ec *exportCmd) run(cmd *cobra.Command) error {
	if ec.includeSecrets != (len(ec.recipients) > 0) {
		return errors.New("--include-secrets and --age-recipient go together: Secrets are only written encrypted to the recipients")
	}
	recipients, err := backup.ParseRecipients(ec.recipients)
	if err != nil {
		return err
	}
	c, err := ec.contextClient(ec.kubeContext)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), ec.timeout)
	defer cancel()
	objs, secrets, err := readSollObjects(ctx, c, ec.namespace, ec.maxObjects)
	if err != nil {
		return err
	}
	var refs []backup.Reference
	if !ec.includeSecrets {
		for _, s := range secrets {
			if r, ok := backup.ReferenceOf(s); ok {
				refs = append(refs, r)
			}
		}
		secrets = nil
	}
	var b bytes.Buffer
	h := backup.Header{Version: version.Version, Time: time.Now(), Namespace: ec.namespace}
	if err := backup.Write(&b, h, objs, secrets, refs, recipients); err != nil {
		return err
	}
	if ec.output == "" {
		_, err := cmd.OutOrStdout().Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(ec.output, b.Bytes(), 0o600); err != nil {
		return err
	}
	_, err = fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d objects and %d encrypted Secrets of namespace %s to %s\n", len(objs), len(secrets), ec.namespace, ec.output)
	return err
}

// readSollObjects reads soll's objects in namespace ns: Projects,
// Applications and settings ConfigMaps, and apart from them the Secrets
// soll reads (labelled sollv1.SecretTypeLabel, or named in
// backup.NamedSecrets).
func readSollObjects(ctx context.Context, c client.Reader, ns string, limit int) (objs, secrets []*unstructured.Unstructured, err error) {
	count := 0
	list := func(gvk schema.GroupVersionKind, sel client.ListOption, into *[]*unstructured.Unstructured) error {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(gvk)
		err := listPages(ctx, c, l, ns, sel, func() error {
			for i := range l.Items {
				*into = append(*into, l.Items[i].DeepCopy())
				if count++; count > limit {
					return fmt.Errorf("namespace %s holds more than %d soll objects", ns, limit)
				}
			}
			return nil
		})
		if meta.IsNoMatchError(err) {
			return fmt.Errorf("the cluster does not know soll's CRDs: check --kubeconfig and --kube-context")
		}
		if err != nil {
			return fmt.Errorf("list %ss in namespace %s: %w", gvk.Kind, ns, err)
		}
		return nil
	}
	sv := sollv1.GroupVersion
	if err := list(sv.WithKind("ProjectList"), nil, &objs); err != nil {
		return nil, nil, err
	}
	if err := list(sv.WithKind("ApplicationList"), nil, &objs); err != nil {
		return nil, nil, err
	}
	get := func(kind, name string, into *[]*unstructured.Unstructured) error {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: kind})
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s %s/%s: %w", kind, ns, name, err)
		}
		*into = append(*into, u)
		return nil
	}
	for _, name := range backup.SettingsConfigMaps {
		if err := get("ConfigMap", name, &objs); err != nil {
			return nil, nil, err
		}
	}
	if err := list(schema.GroupVersionKind{Version: "v1", Kind: "SecretList"}, client.HasLabels{sollv1.SecretTypeLabel}, &secrets); err != nil {
		return nil, nil, err
	}
	listed := map[string]bool{}
	for _, s := range secrets {
		listed[s.GetName()] = true
	}
	for _, name := range backup.NamedSecrets {
		if listed[name] {
			continue // labelled as well: listed already
		}
		if err := get("Secret", name, &secrets); err != nil {
			return nil, nil, err
		}
	}
	return objs, secrets, nil
}

// restoreCmd holds the flags of soll admin import -f.
type restoreCmd struct {
	kubeFlags
	kubeContext string
	file        string
	identity    string
	dryRun      bool
	overwrite   bool
	timeout     time.Duration
}

func (rc *restoreCmd) registerFlags(cmd *cobra.Command) {
	rc.registerOn(cmd.Flags(), "namespace to restore into")
	fl := cmd.Flags()
	fl.StringVar(&rc.kubeContext, "kube-context", "", "kubeconfig context to use (default: the current one)")
	fl.StringVarP(&rc.file, "filename", "f", "", "restore the backup of this file, written by soll admin export (\"-\": stdin)")
	fl.StringVar(&rc.identity, "age-identity", "", "file with the age identity (AGE-SECRET-KEY-1...) or SSH private key that decrypts the backup's Secrets")
	fl.BoolVar(&rc.dryRun, "dry-run", false, "check the backup and print what would be applied (Secret values masked) instead of applying it")
	fl.BoolVar(&rc.overwrite, "overwrite", false, "replace objects that exist, taking over fields other managers own")
	fl.DurationVar(&rc.timeout, "timeout", 5*time.Minute, "time allowed for applying")
}

func (rc *restoreCmd) run(cmd *cobra.Command) error {
	if rc.file == "" {
		return errors.New("pass -f FILE to restore a backup written by soll admin export, or use soll admin import argocd to import Argo CD")
	}
	var data string
	var err error
	if rc.file == "-" {
		data, err = readAllLimited(cmd.InOrStdin(), "stdin", "-f", maxBackupSize)
	} else {
		data, err = readLimited(rc.file, "-f", maxBackupSize)
	}
	if err != nil {
		return err
	}
	var ids []filippoage.Identity
	if rc.identity != "" {
		key, err := os.ReadFile(rc.identity)
		if err != nil {
			return fmt.Errorf("--age-identity: %w", err)
		}
		if ids, err = backup.ParseIdentities(key); err != nil {
			return fmt.Errorf("--age-identity %s: %w", rc.identity, err)
		}
	}
	bk, err := backup.Read([]byte(data), rc.namespace, ids)
	if err != nil {
		return fmt.Errorf("%s is not a backup that can be restored, nothing was applied:\n%w", rc.file, err)
	}
	out := cmd.OutOrStdout()
	if rc.dryRun {
		if err := printBackup(out, bk); err != nil {
			return err
		}
	} else {
		c, err := rc.contextClient(rc.kubeContext)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), rc.timeout)
		defer cancel()
		if err := rc.apply(ctx, out, c, bk); err != nil {
			return err
		}
	}
	return restoreNotes(cmd.ErrOrStderr(), bk, rc.namespace)
}

// printBackup prints the objects a restore would apply, Secret values
// masked.
func printBackup(w io.Writer, bk *backup.Backup) error {
	var b bytes.Buffer
	for _, u := range bk.Objects {
		m := u.DeepCopy().Object
		if u.GetKind() == "Secret" {
			for _, f := range []string{"data", "stringData"} {
				if d, ok := m[f].(map[string]any); ok {
					for k := range d {
						d[k] = "***"
					}
				}
			}
		}
		y, err := yaml.Marshal(m)
		if err != nil {
			return err
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// apply applies the backup's objects in order with server-side apply.
// Unless --overwrite, it first checks that none of them exists and
// applies nothing when one does.
func (rc *restoreCmd) apply(ctx context.Context, w io.Writer, c client.Client, bk *backup.Backup) error {
	what := func(u *unstructured.Unstructured) string {
		return strings.ToLower(u.GetKind()) + " " + u.GetNamespace() + "/" + u.GetName()
	}
	if !rc.overwrite {
		var exist []string
		for _, u := range bk.Objects {
			cur := &unstructured.Unstructured{}
			cur.SetGroupVersionKind(u.GroupVersionKind())
			err := c.Get(ctx, client.ObjectKeyFromObject(u), cur)
			switch {
			case err == nil:
				exist = append(exist, what(u))
			case apierrors.IsNotFound(err):
			default:
				return fmt.Errorf("check %s: %s; nothing was applied", what(u), importAPIError(err))
			}
		}
		if len(exist) > 0 {
			return fmt.Errorf("%d objects of the backup exist in namespace %s, nothing was applied: restore into an empty namespace, or pass --overwrite to replace them:\n  %s",
				len(exist), rc.namespace, strings.Join(exist, "\n  "))
		}
	}
	opts := []client.ApplyOption{client.FieldOwner(restoreFieldManager)}
	if rc.overwrite {
		opts = append(opts, client.ForceOwnership)
	}
	for i, u := range bk.Objects {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), opts...); err != nil {
			return fmt.Errorf("apply %s: %s; %d of %d objects were applied before it (run the command again with --overwrite once the cause is fixed)",
				what(u), importAPIError(err), i, len(bk.Objects))
		}
		if _, err := fmt.Fprintf(w, "%s applied\n", what(u)); err != nil {
			return err
		}
	}
	return nil
}

// restoreNotes tells what a restore left to do: the Applications whose
// automated prune is off, and the Secrets to recreate.
func restoreNotes(w io.Writer, bk *backup.Backup, ns string) error {
	var b strings.Builder
	if len(bk.PruneOff) > 0 {
		fmt.Fprintf(&b, "automated prune is off on %d Applications until soll has compared them once (annotation %s): %s\n",
			len(bk.PruneOff), backup.PruneOffAnnotation, strings.Join(bk.PruneOff, ", "))
	}
	for _, r := range bk.References {
		fmt.Fprintf(&b, "recreate Secret %s/%s: %s credentials", ns, r.Name, r.SecretType)
		if r.URL != "" {
			fmt.Fprintf(&b, " for %s", r.URL)
		}
		if r.Project != "" {
			fmt.Fprintf(&b, " of Project %s", r.Project)
		}
		b.WriteString(" (the backup was written without --include-secrets)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
