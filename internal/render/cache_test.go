package render

import (
	"context"
	"errors"
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
