package controller

import (
	"testing"
	"time"
)

func TestRefreshCoalescer(t *testing.T) {
	const window = 2 * time.Second
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	type step struct {
		at       time.Duration // since t0
		rv       uint64
		token    string
		force    bool
		wantList bool
		wantWait time.Duration
	}
	tests := []struct {
		name  string
		steps []step
	}{{
		name: "first request lists",
		steps: []step{
			{at: 0, rv: 10, wantList: true},
		},
	}, {
		name: "requests written before a listing are covered by it",
		steps: []step{
			{at: 0, rv: 10, wantList: true},
			{at: 100 * time.Millisecond, rv: 9},
			{at: 100 * time.Millisecond, rv: 10},
		},
	}, {
		// The bug this replaces: a second push within the window was
		// dropped until the next periodic refresh.
		name: "a newer request within the window waits for its end, then lists",
		steps: []step{
			{at: 0, rv: 10, wantList: true},
			{at: 500 * time.Millisecond, rv: 11, wantWait: 1500 * time.Millisecond},
			{at: 2 * time.Second, rv: 11, wantList: true},
		},
	}, {
		name: "the trailing listing covers every request that waited for it",
		steps: []step{
			{at: 0, rv: 10, wantList: true},
			{at: 500 * time.Millisecond, rv: 11, wantWait: 1500 * time.Millisecond},
			{at: 600 * time.Millisecond, rv: 15, wantWait: 1400 * time.Millisecond},
			{at: 2 * time.Second, rv: 11, wantList: true},
			{at: 2 * time.Second, rv: 15},
			{at: 2100 * time.Millisecond, rv: 16, wantWait: 1900 * time.Millisecond},
		},
	}, {
		name: "the requests of one push are covered by the listing the first one asked for",
		steps: []step{
			{at: 0, rv: 10, token: "push1", wantList: true},
			{at: 100 * time.Millisecond, rv: 11, token: "push1"},
			{at: 200 * time.Millisecond, rv: 12, token: "push1"},
			{at: 300 * time.Millisecond, rv: 13, token: "push2", wantWait: 1700 * time.Millisecond},
			{at: 400 * time.Millisecond, rv: 14, token: "push2", wantWait: 1600 * time.Millisecond},
			{at: 2 * time.Second, rv: 14, token: "push2", wantList: true},
			{at: 2 * time.Second, rv: 13, token: "push2"},
		},
	}, {
		name: "a push token waiting for the trailing edge is covered by it",
		steps: []step{
			{at: 0, rv: 10, wantList: true},
			{at: 100 * time.Millisecond, rv: 11, token: "push1", wantWait: 1900 * time.Millisecond},
			{at: 2 * time.Second, rv: 12, wantList: true},
			{at: 2100 * time.Millisecond, rv: 30, token: "push1"},
		},
	}, {
		name: "a hard refresh lists at once",
		steps: []step{
			{at: 0, rv: 10, wantList: true},
			{at: 100 * time.Millisecond, rv: 10, force: true, wantList: true},
			{at: 200 * time.Millisecond, rv: 10},
		},
	}, {
		name: "after a quiet window a new request lists at once",
		steps: []step{
			{at: 0, rv: 10, wantList: true},
			{at: time.Minute, rv: 20, wantList: true},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newRefreshCoalescer(window)
			for i, s := range tt.steps {
				list, wait := c.request(refreshRequest{repo: "https://git.example.com/config", rv: s.rv, token: s.token, force: s.force}, t0.Add(s.at))
				if list != s.wantList || wait != s.wantWait {
					t.Errorf("step %d (rv %d at %v): list=%v wait=%v, want list=%v wait=%v", i, s.rv, s.at, list, wait, s.wantList, s.wantWait)
				}
			}
		})
	}
	t.Run("repositories are independent", func(t *testing.T) {
		c := newRefreshCoalescer(window)
		if list, _ := c.request(refreshRequest{repo: "https://a.example.com/x", rv: 10}, t0); !list {
			t.Error("first request of a: no listing")
		}
		if list, _ := c.request(refreshRequest{repo: "https://b.example.com/x", rv: 11}, t0); !list {
			t.Error("first request of b: no listing")
		}
	})
}
