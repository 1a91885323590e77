package render

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestCacheKeysOfDecrypters: requests that differ only in the keys that
// decrypt them never share a cached render.
func TestCacheKeysOfDecrypters(t *testing.T) {
	inner := &countingRenderer{}
	c := &Cache{Renderer: inner}
	a := Request{Root: "/snap/aaa", Path: "web", Keys: "team-a/1"}
	b := Request{Root: "/snap/aaa", Path: "web", Keys: "team-b/1"}
	for _, req := range []Request{a, b, a, b} {
		if _, err := c.Render(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if inner.calls != 2 {
		t.Fatalf("%d renders for requests with 2 distinct key sets, want 2", inner.calls)
	}
}

// upperDecrypter "decrypts" files whose name starts with "enc" by upper
// casing them, and reports their words as the encrypted values.
type upperDecrypter struct{}

func (upperDecrypter) Decrypt(ctx context.Context, path string, data []byte) ([]byte, bool, error) {
	plain, _, enc, err := upperDecrypter{}.DecryptValues(ctx, path, data)
	return plain, enc, err
}

func (upperDecrypter) DecryptValues(_ context.Context, path string, data []byte) ([]byte, []string, bool, error) {
	if !strings.HasPrefix(path, "enc") {
		return data, nil, false, nil
	}
	up := strings.ToUpper(string(data))
	return []byte(up), strings.Fields(up), true, nil
}

// readingRenderer decrypts the files it is given, as renderers do.
type readingRenderer map[string]string

func (r readingRenderer) Render(ctx context.Context, req Request) (*Result, error) {
	for _, name := range slices.Sorted(maps.Keys(r)) {
		if _, _, err := req.Decrypter.Decrypt(ctx, name, []byte(r[name])); err != nil {
			return nil, err
		}
	}
	return &Result{}, nil
}

// TestMuxRecordsDecryptedFiles: the result of a render through the Mux
// names the files that were decrypted and the values in them.
func TestMuxRecordsDecryptedFiles(t *testing.T) {
	m := &Mux{Renderers: map[Tool]Renderer{ToolDirectory: readingRenderer{"enc-b.yaml": "two words", "enc-a.yaml": "one", "plain.yaml": "clear"}}}
	res, err := m.Render(context.Background(), Request{Tool: ToolDirectory, Decrypter: upperDecrypter{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Decrypted == nil {
		t.Fatal("no Decrypted in the result")
	}
	if got := res.Decrypted.Files; !slices.Equal(got, []string{"enc-a.yaml", "enc-b.yaml"}) {
		t.Errorf("Files = %q", got)
	}
	if got := res.Decrypted.Values; !slices.Equal(got, []string{"ONE", "TWO", "WORDS"}) {
		t.Errorf("Values = %q", got)
	}
	res, err = (&Mux{Renderers: map[Tool]Renderer{ToolDirectory: readingRenderer{"plain.yaml": "clear"}}}).Render(context.Background(), Request{Tool: ToolDirectory, Decrypter: upperDecrypter{}})
	if err != nil || res.Decrypted != nil {
		t.Errorf("a render that decrypted nothing: %v, Decrypted %+v", err, res.Decrypted)
	}
}
