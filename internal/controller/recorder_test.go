package controller

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sollv1 "soll.dev/api/v1alpha1"
)

// TestRecorderHoldsNoLockAcrossAWrite: while a status write hangs on the
// API server, the recorder's state stays reachable (scheduling the quiet
// write does not wait for it); stop waits for the write under way, and
// nothing is written after stop.
func TestRecorderHoldsNoLockAcrossAWrite(t *testing.T) {
	app := &sollv1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "soll", Name: "web"}}
	entered, release := make(chan struct{}, 4), make(chan struct{})
	var writes atomic.Int32
	c := fakeClient(t).WithObjects(app).WithStatusSubresource(app).WithInterceptorFuncs(interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			writes.Add(1)
			entered <- struct{}{}
			<-release
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	}).Build()
	ctx := context.Background()
	if err := c.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Client: c, Log: slog.New(slog.DiscardHandler), StatusWriteTimeout: time.Minute}
	rec := newRecorder(r, app)

	wrote := make(chan error, 1)
	go func() {
		wrote <- rec.write(ctx, &sollv1.OperationState{Phase: sollv1.OperationRunning, Message: "progress"})
	}()
	<-entered // the write hangs on the API server now

	scheduled := make(chan struct{})
	go func() {
		rec.after(ctx, time.Millisecond, &sollv1.OperationState{Phase: sollv1.OperationRunning, Message: "starting"})
		close(scheduled)
	}()
	select {
	case <-scheduled:
	case <-time.After(10 * time.Second):
		t.Fatal("scheduling the quiet write waited for the write under way: a lock is held across it")
	}

	stopped := make(chan struct{})
	go func() { rec.stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("stop returned while a write was under way")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("stop did not return after the write ended")
	}
	if err := rec.write(ctx, &sollv1.OperationState{Phase: sollv1.OperationRunning, Message: "late"}); err != nil {
		t.Fatal(err)
	}
	if n := writes.Load(); n != 1 {
		t.Errorf("%d status writes, want 1: nothing after stop", n)
	}
	var got sollv1.Application
	if err := c.Get(ctx, client.ObjectKeyFromObject(app), &got); err != nil {
		t.Fatal(err)
	}
	if st := got.Status.OperationState; st == nil || st.Message != "progress" {
		t.Errorf("operation state %+v, want the progress written", st)
	}
}
