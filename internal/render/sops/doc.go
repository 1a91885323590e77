// Package sops decrypts files encrypted with SOPS as renderers read them, so
// that a repository can hold Secrets that only the cluster can read.
//
// A Decrypter holds age secret keys, given explicitly (sops.New) or read from
// the Secret soll-sops-keys in soll's namespace (FromSecretData). It never
// looks at SOPS_AGE_KEY, key files, gpg or cloud credentials: one controller
// renders for many tenants at once, and a key must not come from whoever set
// up the process. Files encrypted only for PGP or a KMS are refused with an
// error that says to add an age recipient.
//
// Decrypt leaves files that are not SOPS files untouched, cheaply: a file
// whose text cannot hold a top-level "sops" key is not parsed. For a SOPS
// file (YAML, JSON, dotenv or INI, by extension) it recovers the data key
// with the age keys (combining Shamir shares when the file has several key
// groups), decrypts the values with AES-GCM, verifies the MAC the way
// `sops decrypt` does, and returns the plaintext in the same format without
// the metadata.
//
// Plaintext stays in memory. Errors name the file and say what to do, but
// never quote its values, encrypted or not, nor key material: the library's
// own messages quote values, so they are replaced rather than wrapped, and
// the library's loggers are silenced.
package sops
