package sops

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/logging"
	"github.com/getsops/sops/v3/shamir"
	"github.com/getsops/sops/v3/stores"

	"soll.dev/internal/render"
)

// Decrypter decrypts SOPS files with a fixed set of age identities. It is
// safe for concurrent use: it reads no environment variable, file or
// keyring, and each call works on its own copy of the file's keys.
type Decrypter struct {
	ids        []age.Identity
	recipients []string // the public keys of ids, in the same order
	// For errors: whose keys these are ("project team-a"), where keys
	// for them belong, and a note on keys that serve nobody.
	owner, where, note string
}

var _ render.ValuesDecrypter = (*Decrypter)(nil)

// MaxBytes bounds the size of a SOPS file. Larger files are refused before
// they are parsed: decryption holds the file's tree, its plaintext and the
// output in memory at once.
const MaxBytes = render.DefaultMaxFileBytes

// The kinds of decryption errors, for errors.Is.
var (
	// ErrNoKey: none of the Decrypter's keys is a recipient of the file.
	ErrNoKey = errors.New("no matching age key")
	// ErrIntegrity: a value or the MAC does not verify, the file was
	// changed after it was encrypted.
	ErrIntegrity = errors.New("integrity check failed")
	// ErrUnsupported: the file needs something soll does not do, such as
	// PGP or a cloud KMS.
	ErrUnsupported = errors.New("unsupported SOPS file")
	// ErrMalformed: the file looks like a SOPS file but cannot be read as
	// one, or is larger than MaxBytes.
	ErrMalformed = errors.New("malformed SOPS file")
)

func init() {
	// The SOPS library logs through package-level loggers, and some
	// messages carry file content (an undecryptable comment, for one).
	// Nothing of an encrypted file may reach a log.
	for _, l := range logging.Loggers {
		l.SetOutput(io.Discard)
	}
}

// Recipients returns the age public keys that match the Decrypter's keys:
// the recipients a file must be encrypted for to be decrypted.
func (d *Decrypter) Recipients() []string { return slices.Clone(d.recipients) }

// Decrypt returns the plaintext of data, the content of the file at path.
// The format follows the extension: .yaml and .yml, .json, .env and .ini.
// Data in another format, or without SOPS metadata (a top-level "sops"
// mapping with "mac" and "version"), is returned unchanged with encrypted
// false. The plaintext is in the same format, without the metadata.
//
// Errors are *render.Error naming path; their reasons never quote content
// or key material. Use errors.Is with ErrNoKey, ErrIntegrity,
// ErrUnsupported and ErrMalformed to tell them apart.
func (d *Decrypter) Decrypt(ctx context.Context, path string, data []byte) ([]byte, bool, error) {
	plain, _, encrypted, err := d.decrypt(ctx, path, data, false)
	return plain, encrypted, err
}

// DecryptValues decrypts like Decrypt and also returns the plaintext of
// every value that was encrypted in the file (see secretValues), for the
// caller to find wherever the render puts them.
func (d *Decrypter) DecryptValues(ctx context.Context, path string, data []byte) ([]byte, []string, bool, error) {
	return d.decrypt(ctx, path, data, true)
}

func (d *Decrypter) decrypt(ctx context.Context, path string, data []byte, wantValues bool) ([]byte, []string, bool, error) {
	f := formatOf(path)
	if f == nil || !f.mayHold(data) {
		return data, nil, false, nil
	}
	if len(data) > MaxBytes {
		return nil, nil, false, fail(path, ErrMalformed, "encrypted file is %d bytes, above the limit of %d for SOPS files: split it", len(data), MaxBytes)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, false, &render.Error{File: path, Err: context.Cause(ctx)}
	}
	if f.scan != nil {
		isSOPS, err := f.scan(data)
		if err != nil {
			return nil, nil, false, &render.Error{File: path, Err: err}
		}
		if !isSOPS {
			return data, nil, false, nil
		}
	}
	branches, err := f.store.LoadPlainFile(data)
	if err != nil {
		return nil, nil, false, fail(path, ErrMalformed, "not valid %s%s: fix the file or encrypt it again", f.name, lineOf(err))
	}
	isSOPS, err := f.hasMetadata(branches)
	if err != nil {
		return nil, nil, false, &render.Error{File: path, Err: err}
	}
	if !isSOPS {
		return data, nil, false, nil
	}
	branches, md, err := stores.ExtractMetadata(branches, f.opts)
	if err != nil {
		return nil, nil, false, fail(path, ErrMalformed, "the sops metadata is malformed (unknown or inconsistent fields): encrypt the file again with a current sops")
	}
	if len(d.ids) == 0 {
		return nil, nil, false, fail(path, ErrNoKey, "no age key of %s can decrypt it: the file is SOPS-encrypted and %s has no age keys; put the age key of one of the file's recipients in %s%s", d.owner, d.owner, d.where, d.note)
	}
	key, err := d.dataKey(md)
	if err != nil {
		return nil, nil, false, &render.Error{File: path, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, false, &render.Error{File: path, Err: context.Cause(ctx)}
	}
	tree := sops.Tree{Branches: branches, Metadata: md}
	var leaves []leaf
	if wantValues {
		leaves = encryptedLeaves(branches)
	}
	if err := verify(tree, key); err != nil {
		return nil, nil, false, &render.Error{File: path, Err: err}
	}
	plain, err := f.store.EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, nil, false, fail(path, ErrMalformed, "the decrypted document cannot be written as %s", f.name)
	}
	return plain, secretValues(leaves), true, nil
}

// dataKey recovers the file's data key with the Decrypter's identities: from
// one key group, or from enough groups to combine their Shamir shares.
func (d *Decrypter) dataKey(md sops.Metadata) ([]byte, error) {
	groups := md.KeyGroups
	if len(groups) == 0 {
		return nil, errorf(ErrMalformed, "the sops metadata lists no keys: encrypt the file again")
	}
	var (
		parts      [][]byte
		recipients []string // the file's age recipients
		others     []string // the types of its other keys
		malformed  bool
	)
	ids := d.identities()
	for _, group := range groups {
		var part []byte
		for _, k := range group {
			ak, ok := k.(*sopsage.MasterKey)
			if !ok {
				if t := k.TypeToIdentifier(); !slices.Contains(others, t) {
					others = append(others, t)
				}
				continue
			}
			recipients = append(recipients, ak.Recipient)
			if part != nil {
				continue // decrypted already; only listing the recipients
			}
			// The key is this call's own copy, parsed from data: setting
			// its identities races with nothing, and since they are never
			// empty the key source never looks at the environment.
			ids.ApplyToMasterKey(ak)
			p, err := ak.Decrypt()
			if err == nil {
				part = p
				continue
			}
			if _, ok := errors.AsType[*age.NoIdentityMatchError](err); !ok {
				malformed = true
			}
		}
		if part != nil {
			parts = append(parts, part)
		}
	}
	need := 1
	if len(groups) > 1 {
		need = md.ShamirThreshold
		if need <= 0 || need > len(groups) {
			need = len(groups)
		}
	}
	if len(parts) >= need {
		if len(groups) == 1 {
			return parts[0], nil
		}
		key, err := shamir.Combine(parts)
		if err != nil {
			return nil, errorf(ErrIntegrity, "the key groups' shares do not combine into a data key: the file was changed after it was encrypted, or is corrupt")
		}
		return key, nil
	}
	switch {
	case len(recipients) == 0:
		return nil, errorf(ErrUnsupported, "the file is encrypted only for %s keys, and soll decrypts with age keys only (PGP would need a gpg keyring): add an age recipient to the file with sops and its key to %s",
			strings.Join(others, ", "), d.where)
	case malformed && len(parts) == 0:
		return nil, errorf(ErrMalformed, "the file's age-encrypted data key is malformed: encrypt the file again")
	}
	enough := ""
	if len(groups) > 1 {
		enough = fmt.Sprintf(" (it has %d key groups and needs %d, the keys open %d)", len(groups), need, len(parts))
	}
	return nil, errorf(ErrNoKey, "no age key of %s can decrypt it%s; recipients: %s (the keys of %s are for %s): add the key of a recipient to %s, or make one of its keys a recipient with sops updatekeys%s",
		d.owner, enough, strings.Join(recipients, ", "), d.owner, strings.Join(d.recipients, ", "), d.where, d.note)
}

// verify decrypts the values of tree in place and checks the MAC over them,
// the way `sops decrypt` does.
func verify(tree sops.Tree, key []byte) error {
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(key, cipher)
	if err != nil {
		return errorf(ErrIntegrity, "a value does not decrypt with the file's data key: the file was changed after it was encrypted, or is corrupt; edit SOPS files with sops edit")
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, key, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return errorf(ErrIntegrity, "the MAC does not decrypt with the file's data key: the sops metadata was changed or is corrupt")
	}
	s, _ := stored.(string)
	if subtle.ConstantTimeCompare([]byte(s), []byte(mac)) != 1 {
		return errorf(ErrIntegrity, "MAC mismatch: the file was changed after it was encrypted; edit SOPS files with sops edit, not by hand")
	}
	return nil
}

// decryptError is a reason with a fixed message and a kind for errors.Is.
// It wraps no library error: their messages quote values.
type decryptError struct {
	kind error
	msg  string
}

func (e *decryptError) Error() string { return "decrypt SOPS file: " + e.msg }
func (e *decryptError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &decryptError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func fail(path string, kind error, format string, args ...any) error {
	return &render.Error{File: path, Err: errorf(kind, format, args...)}
}

var lineRE = regexp.MustCompile(`\bline (\d+)\b`)

// lineOf returns " (line N)" when a parser error names a line, and nothing
// else of it: parser messages may quote the text.
func lineOf(err error) string {
	if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
		return " (line " + m[1] + ")"
	}
	return ""
}

// hasPrefixLine reports whether a line of data starts with prefix.
func hasPrefixLine(data []byte, prefix string) bool {
	return bytes.HasPrefix(data, []byte(prefix)) || bytes.Contains(data, []byte("\n"+prefix))
}
