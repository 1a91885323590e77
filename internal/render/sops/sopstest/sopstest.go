// Package sopstest encrypts files the way the sops command does, for tests
// of code that decrypts them. It uses the SOPS library itself, so the files
// are what a user would commit, without a sops binary.
package sopstest

import (
	"crypto/rand"
	"path"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/json"
	"github.com/getsops/sops/v3/stores/yaml"
)

// Options choose what sops encrypts, like the flags of `sops encrypt`.
// At most one rule may be set; none means sops' default, every value except
// those whose key ends in "_unencrypted".
type Options struct {
	EncryptedRegex    string
	UnencryptedSuffix string
	EncryptedSuffix   string
	// MACOnlyEncrypted computes the MAC over encrypted values only.
	MACOnlyEncrypted bool
	// KeyGroups, when set, replaces the recipients with several key groups
	// that share the data key with Shamir's scheme, ShamirThreshold of them
	// needed to recover it (0 means all).
	KeyGroups       [][]string
	ShamirThreshold int
}

// NewKey returns a fresh age identity: its secret key (AGE-SECRET-KEY-1...)
// and public key (age1...).
func NewKey(t testing.TB) (secret, public string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.String(), id.Recipient().String()
}

// Encrypt encrypts plain, the content of a file named name (its extension
// picks YAML, JSON or dotenv), for the age recipients, as
// `sops encrypt --age <recipients>` would.
func Encrypt(t testing.TB, name string, plain []byte, opts Options, recipients ...string) []byte {
	t.Helper()
	var store sops.Store
	c := config.NewStoresConfig()
	switch path.Ext(name) {
	case ".json":
		store = json.NewStore(&c.JSON)
	case ".env":
		store = dotenv.NewStore(&c.Dotenv)
	default:
		store = yaml.NewStore(&c.YAML)
	}
	branches, err := store.LoadPlainFile(plain)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	groups := opts.KeyGroups
	if groups == nil {
		groups = [][]string{recipients}
	}
	var keyGroups []sops.KeyGroup
	for _, rs := range groups {
		var group sops.KeyGroup
		for _, r := range rs {
			k, err := sopsage.MasterKeyFromRecipient(r)
			if err != nil {
				t.Fatal(err)
			}
			group = append(group, keys.MasterKey(k))
		}
		keyGroups = append(keyGroups, group)
	}
	md := sops.Metadata{
		KeyGroups:         keyGroups,
		ShamirThreshold:   opts.ShamirThreshold,
		EncryptedRegex:    opts.EncryptedRegex,
		UnencryptedSuffix: opts.UnencryptedSuffix,
		EncryptedSuffix:   opts.EncryptedSuffix,
		MACOnlyEncrypted:  opts.MACOnlyEncrypted,
		Version:           "3.13.3",
	}
	if md.EncryptedRegex == "" && md.UnencryptedSuffix == "" && md.EncryptedSuffix == "" {
		md.UnencryptedSuffix = sops.DefaultUnencryptedSuffix
	}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		t.Fatal(err)
	}
	if errs := md.UpdateMasterKeys(dataKey); len(errs) > 0 {
		t.Fatalf("encrypt the data key: %v", errs)
	}
	tree := sops.Tree{Branches: branches, Metadata: md}
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		t.Fatalf("encrypt %s: %v", name, err)
	}
	tree.Metadata.LastModified = time.Now().UTC().Truncate(time.Second)
	tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	out, err := store.EmitEncryptedFile(tree)
	if err != nil {
		t.Fatalf("emit %s: %v", name, err)
	}
	return out
}
