// Package repocreds finds the credentials soll uses for a repository.
//
// Repository credentials live in Secrets in soll's namespace. A Secret
// labelled sollv1.SecretTypeLabel=sollv1.SecretTypeRepository holds the
// credentials of the one repository named by its "url" key;
// sollv1.SecretTypeRepoCreds makes it a template for every repository whose
// URL starts with "url". An exact repository Secret wins over templates, and
// the longest matching prefix wins among templates. An Application's
// credentialsRef wins over both; it must name one of these Secrets, saved
// for the source's repository (see CheckRef). Only Secrets that serve the
// Application's Project are ever used (see ProjectKey). A repository Secret
// may keep its credentials in another Secret of the namespace, one it does
// not label (see CredentialsSecretKey). The comparison
// pipeline (appstate) and the API's connection test both read credentials
// through this package.
package repocreds
