package render

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"testing"
)

type countingRenderer struct {
	calls int
	err   error
}

func (r *countingRenderer) Render(context.Context, Request) (*Result, error) {
	r.calls++
	if r.err != nil {
		return nil, r.err
	}
	return &Result{}, nil
}

func TestCache(t *testing.T) {
	inner := &countingRenderer{}
	c := &Cache{Renderer: inner}
	a := Request{Root: "/snap/aaa", Path: "web"}
	b := Request{Root: "/snap/bbb", Path: "web"}
	d := Request{Root: "/snap/aaa", Path: "web", Directory: &DirectoryOptions{Recurse: true}}
	for _, req := range []Request{a, a, b, a, d, d} {
		if _, err := c.Render(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if inner.calls != 3 {
		t.Fatalf("%d renders for 3 distinct requests", inner.calls)
	}
	inner.err = errors.New("boom")
	e := Request{Root: "/snap/ccc"}
	for range 2 {
		if _, err := c.Render(context.Background(), e); err == nil {
			t.Fatal("error not returned")
		}
	}
	if inner.calls != 5 {
		t.Fatalf("failed renders were cached: %d calls", inner.calls)
	}
}

func TestCacheNeverKeepsChartReferences(t *testing.T) {
	inner := &countingRenderer{}
	c := &Cache{Renderer: inner}
	req := Request{Chart: &ChartRef{RepoURL: "https://charts.example", Chart: "web", Version: "^1.0.0"}}
	for range 3 {
		if _, err := c.Render(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if inner.calls != 3 {
		t.Errorf("renderer called %d times for 3 renders of a moving chart reference, want 3", inner.calls)
	}
}

// gateRenderer blocks every render until released and records the most
// renders it saw at once.
type gateRenderer struct {
	mu       gosync.Mutex
	inFlight int
	most     int
	started  chan struct{}
	release  chan struct{}
}

func (r *gateRenderer) Render(ctx context.Context, _ Request) (*Result, error) {
	r.mu.Lock()
	r.inFlight++
	r.most = max(r.most, r.inFlight)
	r.mu.Unlock()
	r.started <- struct{}{}
	<-r.release
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()
	return &Result{}, nil
}

func TestCacheBoundsParallelRenders(t *testing.T) {
	inner := &gateRenderer{started: make(chan struct{}, 10), release: make(chan struct{})}
	c := &Cache{Renderer: inner, Parallel: 2}
	var wg gosync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			if _, err := c.Render(context.Background(), Request{Root: fmt.Sprintf("/snap/%d", i)}); err != nil {
				t.Error(err)
			}
		})
	}
	// Two start; the others wait for a slot until a render ends.
	<-inner.started
	<-inner.started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Render(ctx, Request{Root: "/snap/cancelled"}); !errors.Is(err, context.Canceled) {
		t.Errorf("render waiting for a slot with its context cancelled: %v", err)
	}
	for range 6 {
		inner.release <- struct{}{}
	}
	wg.Wait()
	if inner.most != 2 {
		t.Errorf("%d renders ran at once, want at most 2 (Parallel)", inner.most)
	}
}

// TestCacheEvictsLeastRecentlyUsed: a full cache makes room by dropping
// the result used longest ago, and keeps the others.
func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	inner := &countingRenderer{}
	c := &Cache{Renderer: inner, Max: 2}
	req := func(name string) Request { return Request{Root: "/snap/" + name} }
	for _, name := range []string{"a", "b", "a", "c"} { // c evicts b, not a
		if _, err := c.Render(context.Background(), req(name)); err != nil {
			t.Fatal(err)
		}
	}
	if inner.calls != 3 {
		t.Fatalf("%d renders, want 3", inner.calls)
	}
	for _, name := range []string{"a", "c"} {
		if _, err := c.Render(context.Background(), req(name)); err != nil {
			t.Fatal(err)
		}
	}
	if inner.calls != 3 {
		t.Errorf("a or c was rendered again (%d renders): evicted instead of b", inner.calls)
	}
	if _, err := c.Render(context.Background(), req("b")); err != nil {
		t.Fatal(err)
	}
	if inner.calls != 4 {
		t.Errorf("b was kept (%d renders), want it evicted", inner.calls)
	}
}
