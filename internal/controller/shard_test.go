package controller

import (
	"fmt"
	"testing"
)

// TestShardOwner: rendezvous hashing spreads keys evenly, and a replica
// that joins takes keys from the others without moving any between them;
// one that leaves gives only its own keys out.
func TestShardOwner(t *testing.T) {
	three := []string{"soll-controller-a-1", "soll-controller-b-2", "soll-controller-c-3"}
	four := append([]string{"soll-controller-d-4"}, three...)
	const keys = 10000
	counts := map[string]int{}
	moved := 0
	for i := range keys {
		key := fmt.Sprintf("soll/app-%05d", i)
		before, after := shardOwner(three, key), shardOwner(four, key)
		counts[before]++
		if before != after {
			moved++
			if after != "soll-controller-d-4" {
				t.Fatalf("%s moved from %s to %s, not to the replica that joined", key, before, after)
			}
		}
		if again := shardOwner([]string{three[2], three[0], three[1]}, key); again != before {
			t.Fatalf("%s: owner depends on the order of the replicas (%s, %s)", key, before, again)
		}
		if left := shardOwner(three[1:], key); before != three[0] && left != before {
			t.Fatalf("%s moved from %s to %s when another replica left", key, before, left)
		}
	}
	for _, m := range three {
		if n := counts[m]; n < keys/3-keys/20 || n > keys/3+keys/20 {
			t.Errorf("replica %s owns %d of %d keys, want about a third: %v", m, n, keys, counts)
		}
	}
	if moved < keys/4-keys/20 || moved > keys/4+keys/20 {
		t.Errorf("a fourth replica took %d of %d keys, want about a quarter", moved, keys)
	}
	if got := shardOwner(nil, "soll/app"); got != "" {
		t.Errorf("no replicas: owner %q", got)
	}
}
