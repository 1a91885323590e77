// Package kustomize renders an application whose directory holds a
// kustomization, with kustomize's own library (krusty) running in process,
// as `kustomize build` would, and applies the Application's overrides
// (images, replicas, name prefix and suffix, namespace, common labels and
// annotations, patches, components) the way `kustomize edit` would: to an
// edited copy of the application's kustomization held in memory. The
// snapshot is shared and never written.
//
// Kustomize reads through a file system of soll's (fs.go) rather than the
// disk, so that the rules of render hold for it too:
//
//   - confinement: every path goes through a confine.Root. Bases and files
//     anywhere in the repository may be used ("../../base"); ".." climbing
//     above the root, absolute paths, and symlinks leading out or looping
//     are refused with an error naming the file;
//   - limits: reads are counted by the render's Budget, every file is
//     measured for YAML alias bombs before kustomize parses it, and the
//     build is bounded by the render's timeout (see build for what happens
//     to an abandoned build);
//   - SOPS: with a Decrypter, every file read is decrypted in memory, so
//     encrypted resources and generator inputs work; plaintext is never
//     written nor quoted in errors;
//   - nothing is written, fetched or executed. Each kustomization is
//     checked as it is read (check.go): remote files, KRM functions and
//     exec or Go plugins are refused with an error naming the
//     kustomization and the entry. Kustomize itself runs with builtin
//     plugins only and Helm disabled, a second line of defence.
//
// Two things kustomize would fetch or execute are done by soll instead,
// when allowed:
//
//   - remote bases (resources, bases and components naming a directory of
//     a Git repository, "https://host/org/repo.git//deploy?ref=v1") are
//     fetched before the render by the caller, through a Resolver that
//     walks the kustomizations the build will read; the render reads each
//     from its snapshot (Request.Remotes), mounted beside the
//     application's repository and confined to it, the kustomization
//     pointing to it by a relative path (prepare.go). Without a fetched
//     snapshot a remote base is refused (ErrRemote);
//   - Helm charts of helmCharts are inflated, for applications that enable
//     it, with soll's Helm renderer (helmcharts.go) into generated files
//     the kustomization lists as resources, so that its transformers apply
//     to them; charts come from the chart home in the repository or from
//     a chart repository at an exact version.
//
// The objects come out in kustomize's output order, each with the
// application's kustomization file as its origin. Kustomize's own errors
// are wrapped in a BuildError, with paths relative to the repository root
// and dumps of file contents cut.
package kustomize
