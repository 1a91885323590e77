package serve

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddress(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.1", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		peer, xff string
		want      string // "" for the peer itself
	}{
		{"198.51.100.1:1234", "203.0.113.5", ""},                        // untrusted peer: header ignored
		{"10.1.2.3:1234", "", ""},                                       // trusted peer, no header
		{"10.1.2.3:1234", "203.0.113.5", "203.0.113.5"},                 // one proxy
		{"10.1.2.3:1234", "203.0.113.5, 10.9.9.9", "203.0.113.5"},       // two proxies
		{"10.1.2.3:1234", "1.1.1.1, 203.0.113.5", "203.0.113.5"},        // forged first entry
		{"192.0.2.1:80", "203.0.113.5:4711", "203.0.113.5"},             // entry with a port
		{"[fd00::1]:80", "2001:db8::7", "2001:db8::7"},                  // IPv6
		{"[fd00::1]:80", "[2001:db8::7]:443", "2001:db8::7"},            // IPv6 with a port
		{"10.1.2.3:1234", "10.5.5.5, 10.6.6.6", "10.5.5.5"},             // all trusted: the first
		{"10.1.2.3:1234", "203.0.113.5, garbage, 10.9.9.9", "10.9.9.9"}, // stops at garbage
		{"10.1.2.3:1234", "garbage", ""},
		{"[::ffff:10.1.2.3]:1234", "203.0.113.5", "203.0.113.5"}, // IPv4-mapped peer
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		got, ok := clientAddress(r, trusted)
		if tc.want == "" {
			if ok {
				t.Errorf("peer %s, X-Forwarded-For %q: client %s, want the peer", tc.peer, tc.xff, got)
			}
			continue
		}
		if !ok || got != netip.MustParseAddr(tc.want) {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s (%v), want %s", tc.peer, tc.xff, got, ok, tc.want)
		}
	}
	// Without trusted proxies nothing is read.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:1234"
	r.Header.Set("X-Forwarded-For", "203.0.113.5")
	if _, ok := clientAddress(r, nil); ok {
		t.Error("X-Forwarded-For read without trusted proxies")
	}
	if _, err := ParseTrustedProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Error("an invalid range was accepted")
	}
}
