// Package argoimport converts the objects of an Argo CD installation into
// their soll equivalents: Applications, AppProjects (as Projects),
// repository and repository-template credential Secrets, the RBAC policy
// of argocd-rbac-cm, the settings of argocd-cm that soll has (health
// scripts and ignore rules) and the SSH known hosts.
//
// The Argo CD objects are read as unstructured data, field by field: every
// field the conversion does not consume is listed in the Report with what
// to do about it, so that nothing is dropped silently. Conversion is pure:
// it reads nothing but its input and writes nothing; the command line
// reads the objects from files or a cluster and applies or prints the
// result.
package argoimport
