package serve

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// withClientAddress sets r.RemoteAddr to the client's address (without a
// port) when the direct peer is a trusted proxy: the address its
// X-Forwarded-For header names (see clientAddress). Requests from other
// peers keep their peer address, whatever header they send, so that a
// client cannot pick the address login throttling counts it under.
func withClientAddress(next http.Handler, trusted []netip.Prefix) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := clientAddress(r, trusted); ok {
			r.RemoteAddr = a.String()
		}
		next.ServeHTTP(w, r)
	})
}

// clientAddress reads the client's address from X-Forwarded-For when the
// request's peer is in trusted: walking the header from its end (the
// entry the nearest proxy added), the first address that is not a
// trusted proxy, or the first entry of the header when they all are. An
// entry that is not an address stops the walk at the last good one. ok is
// false when the peer is not trusted or sent no header.
func clientAddress(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok || !isTrusted(peer, trusted) {
		return netip.Addr{}, false
	}
	var entries []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for e := range strings.SplitSeq(v, ",") {
			entries = append(entries, strings.TrimSpace(e))
		}
	}
	client, found := peer, false
	for i := len(entries) - 1; i >= 0; i-- {
		a, ok := parseAddr(entries[i])
		if !ok {
			break
		}
		client, found = a, true
		if !isTrusted(a, trusted) {
			break
		}
	}
	return client, found
}

// parseAddr reads "ip", "ip:port" and "[ipv6]:port".
func parseAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies reads addresses and CIDR ranges ("10.0.0.0/8",
// "192.0.2.1", "fd00::/8") for Options.TrustedProxies.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, &net.ParseError{Type: "address or CIDR range", Text: s}
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// withBodyDeadline gives every request that has a body timeout to send
// it, counted from the end of its headers: a client that trickles a body
// (a login's included, which needs no credentials) is cut off then, rather
// than holding a connection and a handler for as long as it likes. The
// deadline is lifted once the body has been read to its end, so that a
// long answer (an event stream has no body) is not cut short; an
// http.Server ReadTimeout cannot tell the two apart.
func withBodyDeadline(next http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			if err := rc.SetReadDeadline(time.Now().Add(timeout)); err == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts its connection's read deadline once the body is read.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
