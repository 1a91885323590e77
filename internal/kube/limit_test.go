package kube

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLimitWrites(t *testing.T) {
	c := &Client{}
	c.LimitWrites(2)
	ctx := context.Background()
	var frees []func()
	for range 2 {
		free, err := c.write(ctx)
		if err != nil {
			t.Fatal(err)
		}
		frees = append(frees, free)
	}
	// A third write waits until its context ends...
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.write(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third write with two in flight: %v, want to wait until the deadline", err)
	}
	// ...or until a slot is freed.
	got := make(chan error, 1)
	go func() {
		free, err := c.write(ctx)
		if err == nil {
			free()
		}
		got <- err
	}()
	frees[0]()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a freed slot was not handed to the waiting write")
	}
	frees[1]()

	unlimited := &Client{}
	unlimited.LimitWrites(0)
	for range 100 {
		if _, err := unlimited.write(short); err != nil {
			t.Fatalf("unlimited client: %v", err)
		}
	}
}
