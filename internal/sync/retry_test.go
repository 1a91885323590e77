package sync

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// flakyKube fails with errs, in order, then succeeds.
type flakyKube struct {
	Kube
	errs  []error
	calls int
}

func (f *flakyKube) next() error {
	f.calls++
	if len(f.errs) == 0 {
		return nil
	}
	err := f.errs[0]
	f.errs = f.errs[1:]
	return err
}

func (f *flakyKube) Apply(_ context.Context, obj *unstructured.Unstructured, _ bool) (*unstructured.Unstructured, error) {
	if err := f.next(); err != nil {
		return nil, err
	}
	return obj, nil
}

func (f *flakyKube) Create(_ context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if err := f.next(); err != nil {
		return nil, err
	}
	return obj, nil
}

func TestRetryingKube(t *testing.T) {
	// The retries, not their pace, are under test.
	defer func(d time.Duration) { firstRetryDelay = d }(firstRetryDelay)
	firstRetryDelay = time.Millisecond
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	unavailable := apierrors.NewServiceUnavailable("apiserver is shutting down")
	throttled := apierrors.NewTooManyRequests("slow down", 1)
	invalid := apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, "x", nil)
	gr := schema.GroupResource{Resource: "configmaps"}
	cases := []struct {
		name      string
		create    bool
		errs      []error
		wantCalls int
		wantErr   error
	}{
		{"apply rides out an API server restart", false, []error{refused, unavailable, throttled, io.ErrUnexpectedEOF}, 5, nil},
		{"apply fails at once on a real error", false, []error{invalid}, 1, invalid},
		{"apply fails at once when forbidden", false, []error{apierrors.NewForbidden(gr, "x", errors.New("no"))}, 1, nil},
		{"create retries a refused connection", true, []error{refused}, 2, nil},
		{"create does not repeat a request that may have been processed", true, []error{io.ErrUnexpectedEOF}, 1, io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &flakyKube{errs: c.errs}
			k := retryingKube{f}
			var err error
			if c.create {
				_, err = k.Create(context.Background(), &unstructured.Unstructured{})
			} else {
				_, err = k.Apply(context.Background(), &unstructured.Unstructured{}, false)
			}
			if f.calls != c.wantCalls {
				t.Errorf("%d calls, want %d", f.calls, c.wantCalls)
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Errorf("error %v, want %v", err, c.wantErr)
			}
			if c.wantErr == nil && c.wantCalls == len(c.errs)+1 && err != nil {
				t.Errorf("error %v after the failures passed", err)
			}
		})
	}

	// The caller giving up ends the retries.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &flakyKube{errs: []error{refused, refused}}
	if _, err := (retryingKube{f}).Apply(ctx, &unstructured.Unstructured{}, false); err == nil || f.calls != 1 {
		t.Errorf("with a cancelled context: %d calls, error %v; want 1 call and the error", f.calls, err)
	}
}
