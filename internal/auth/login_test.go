package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParallelFailedLoginsThrottle(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := newClient(t)
	m := newManager(t, c, clk)
	password := initialPassword(t, c)

	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.Login(ctx, AdminAccount, fmt.Sprintf("wrong-%d", i), fmt.Sprintf("10.0.0.%d", i%4))
			kind := "other"
			switch {
			case err == nil:
				kind = "success"
			case errors.Is(err, ErrThrottled):
				kind = "throttled"
			case errors.Is(err, ErrInvalidCredentials):
				kind = "invalid"
			}
			mu.Lock()
			counts[kind]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts["success"] != 0 || counts["other"] != 0 {
		t.Fatalf("results = %v", counts)
	}
	if counts["invalid"] > 5 {
		t.Errorf("%d passwords were checked, want at most the threshold 5", counts["invalid"])
	}

	// The correct password from a fresh address is refused while the
	// account is throttled.
	_, err := m.Login(ctx, AdminAccount, password, "192.0.2.1")
	var te *ThrottledError
	if !errors.As(err, &te) || te.RetryAfter <= 0 {
		t.Fatalf("login during throttling: %v", err)
	}
	clk.Add(te.RetryAfter)
	tok, err := m.Login(ctx, AdminAccount, password, "192.0.2.1")
	if err != nil {
		t.Fatalf("login after the backoff: %v", err)
	}
	mustAuthenticate(t, m, tok)
}

func TestThrottleBackoff(t *testing.T) {
	clk := newClock()
	th := newThrottle(ThrottlePolicy{Threshold: 3, BaseDelay: time.Second, MaxDelay: 10 * time.Second}, clk.Now)
	fail := func() error {
		release, err := th.attempt("alice", "addr")
		if err == nil {
			release(false)
		}
		return err
	}
	for range 2 {
		if err := fail(); err != nil {
			t.Fatal(err)
		}
	}
	// The third failure starts the backoff: 1s, then 2s, 4s, 8s, 10s (cap).
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if err := fail(); err != nil {
			t.Fatalf("attempt after the backoff: %v", err)
		}
		var te *ThrottledError
		if err := fail(); !errors.As(err, &te) || te.RetryAfter != want {
			t.Fatalf("throttled for %v, want %v", err, want)
		}
		clk.Add(want)
	}
	// Success resets.
	release, err := th.attempt("alice", "addr")
	if err != nil {
		t.Fatal(err)
	}
	release(true)
	for range 2 {
		if err := fail(); err != nil {
			t.Fatalf("after a success the count restarts: %v", err)
		}
	}
	// Other accounts from other addresses are not affected.
	if _, err := th.attempt("bob", "other"); err != nil {
		t.Fatal(err)
	}
}

func TestThrottleBoundedMemory(t *testing.T) {
	clk := newClock()
	th := newThrottle(ThrottlePolicy{MaxEntries: 100}, clk.Now)
	for i := range 1000 {
		if release, err := th.attempt(fmt.Sprint("user", i), fmt.Sprint("addr", i)); err == nil {
			release(false)
		}
	}
	if n := th.entries(); n > 200 {
		t.Errorf("%d entries tracked, want at most 100 accounts and 100 addresses", n)
	}
}

// TestThrottleRefusesLongNames: a name longer than MaxUsernameLength is
// refused before it is counted, so that 2,000 logins with names of 64 KiB
// leave nothing behind.
func TestThrottleRefusesLongNames(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := newClient(t)
	m := newManager(t, c, clk)
	long := strings.Repeat("x", 64<<10)
	for i := range 2000 {
		_, err := m.Login(ctx, fmt.Sprint(i, long), "password", fmt.Sprint("10.1.", i/256, ".", i%256))
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("login with a name of %d bytes: %v", len(long), err)
		}
	}
	if n := m.throttle.entries(); n != 0 {
		t.Errorf("%d throttling entries after logins with over-long names, want 0", n)
	}
	name := strings.Repeat("x", MaxUsernameLength)
	if _, err := m.Login(ctx, name, "password", "10.0.0.1"); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("login with a name of exactly %d bytes: %v, want invalid credentials", MaxUsernameLength, err)
	}
}

// TestThrottleJunkDoesNotEvictLockout: once an account is locked, failed
// logins for 1,000 other names from 1,000 other addresses, ten times more
// than the tables hold, do not push it out of the table: the lockout
// stands until its backoff ends.
func TestThrottleJunkDoesNotEvictLockout(t *testing.T) {
	clk := newClock()
	th := newThrottle(ThrottlePolicy{Threshold: 3, BaseDelay: time.Minute, MaxDelay: time.Hour, MaxEntries: 100}, clk.Now)
	fail := func(account, addr string) error {
		release, err := th.attempt(account, addr)
		if err == nil {
			release(false)
		}
		return err
	}
	for i := range 3 {
		if err := fail("admin", fmt.Sprint("192.0.2.", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := fail("admin", "192.0.2.100"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("admin after 3 failures from 3 addresses: %v, want throttled", err)
	}
	for i := range 1000 {
		clk.Add(10 * time.Millisecond)
		if err := fail(fmt.Sprint("junk-", i), fmt.Sprint("198.51.", i/256, ".", i%256)); err != nil {
			t.Fatalf("junk login %d: %v", i, err)
		}
	}
	var te *ThrottledError
	if err := fail("admin", "203.0.113.1"); !errors.As(err, &te) {
		t.Fatalf("admin after 1,000 junk logins: %v, want still throttled", err)
	}
	if n := th.entries(); n > 200 {
		t.Errorf("%d entries tracked, want at most 200", n)
	}
	clk.Add(te.RetryAfter)
	if err := fail("admin", "203.0.113.1"); err != nil {
		t.Fatalf("admin after the backoff: %v", err)
	}
}

// TestThrottleAccountAcrossAddresses: guesses at one account from as many
// addresses as guesses lock the account all the same.
func TestThrottleAccountAcrossAddresses(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := newClient(t)
	m := newManager(t, c, clk)
	password := initialPassword(t, c)
	for i := range 5 {
		if _, err := m.Login(ctx, AdminAccount, "wrong", fmt.Sprint("10.2.0.", i)); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	var te *ThrottledError
	if _, err := m.Login(ctx, AdminAccount, password, "10.2.0.200"); !errors.As(err, &te) || te.RetryAfter <= 0 {
		t.Fatalf("the right password from a new address while the account is locked: %v, want throttled", err)
	}
}

// TestWrongCurrentPasswordsThrottle: guessing the current password of a
// password change counts as failed logins of the account, so a stolen
// session gains no second channel for guessing.
func TestWrongCurrentPasswordsThrottle(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := newClient(t)
	m := newManager(t, c, clk)
	password := initialPassword(t, c)
	for i := range 5 {
		err := m.ChangePassword(ctx, AdminAccount, fmt.Sprintf("wrong-%d", i), "a new password", "10.0.0.1")
		if !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("wrong current password %d: %v", i, err)
		}
	}
	// The right password is not even checked now, neither for a change
	// nor for a login.
	var te *ThrottledError
	if err := m.ChangePassword(ctx, AdminAccount, password, "a new password", "10.0.0.1"); !errors.As(err, &te) || te.RetryAfter <= 0 {
		t.Fatalf("change during throttling: %v", err)
	}
	if _, err := m.Login(ctx, AdminAccount, password, "192.0.2.1"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("login during throttling: %v", err)
	}
	clk.Add(te.RetryAfter)
	if err := m.ChangePassword(ctx, AdminAccount, password, "a new password", "10.0.0.1"); err != nil {
		t.Fatalf("change after the backoff: %v", err)
	}
	// Success cleared the counters: one wrong guess is not throttled.
	if err := m.ChangePassword(ctx, AdminAccount, "wrong", "another password", "10.0.0.1"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password after a success: %v", err)
	}
}

// entries is the number of accounts and addresses tracked.
func (t *throttle) entries() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.accounts.lru.Len() + t.addresses.lru.Len()
}
