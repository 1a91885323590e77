package render

import (
	"context"
	"slices"
	gosync "sync"
)

// Decrypted tells what of a render came out of SOPS-encrypted files, so
// that the caller can keep decrypted data out of objects that are not
// Secrets and mask it wherever it shows.
type Decrypted struct {
	// Files are the paths of the files that were decrypted, as the
	// renderer passed them to the Decrypter (relative to the repository
	// root), sorted.
	Files []string
	// Values are the plaintexts of the values that were encrypted in
	// those files (see ValuesDecrypter), sorted, without duplicates.
	Values []string
}

// ValuesDecrypter is a Decrypter that also returns the plaintext of each
// value that was encrypted in the file (a leaf of its tree: a string,
// number or boolean), so that they can be found in the rendered objects.
type ValuesDecrypter interface {
	Decrypter
	DecryptValues(ctx context.Context, path string, data []byte) (plain []byte, values []string, encrypted bool, err error)
}

// recorder wraps the Decrypter of one render and remembers what it
// decrypted.
type recorder struct {
	d      Decrypter
	mu     gosync.Mutex
	files  map[string]bool
	values map[string]bool
}

func (r *recorder) Decrypt(ctx context.Context, path string, data []byte) ([]byte, bool, error) {
	var (
		plain     []byte
		values    []string
		encrypted bool
		err       error
	)
	if vd, ok := r.d.(ValuesDecrypter); ok {
		plain, values, encrypted, err = vd.DecryptValues(ctx, path, data)
	} else {
		plain, encrypted, err = r.d.Decrypt(ctx, path, data)
	}
	if err != nil || !encrypted {
		return plain, encrypted, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[path] = true
	for _, v := range values {
		r.values[v] = true
	}
	return plain, encrypted, nil
}

// result returns what was decrypted, or nil when nothing was.
func (r *recorder) result() *Decrypted {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.files) == 0 {
		return nil
	}
	out := &Decrypted{}
	for f := range r.files {
		out.Files = append(out.Files, f)
	}
	for v := range r.values {
		out.Values = append(out.Values, v)
	}
	slices.Sort(out.Files)
	slices.Sort(out.Values)
	return out
}

// renderRecording renders req with r, recording what req's Decrypter
// decrypts into the result's Decrypted.
func renderRecording(ctx context.Context, r Renderer, req Request) (*Result, error) {
	if req.Decrypter == nil {
		return r.Render(ctx, req)
	}
	rec := &recorder{d: req.Decrypter, files: map[string]bool{}, values: map[string]bool{}}
	req.Decrypter = rec
	res, err := r.Render(ctx, req)
	if err != nil || res == nil {
		return res, err
	}
	if d := rec.result(); d != nil {
		out := *res
		out.Decrypted = d
		return &out, nil
	}
	return res, nil
}
