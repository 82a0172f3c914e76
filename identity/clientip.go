package identity

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP is the address sign-in limits and session records attribute a
// request to. Without trusted proxies it is the TCP peer. Behind a load
// balancer the peer is the balancer, so when the peer is one of trusted,
// the client is the rightmost X-Forwarded-For entry that is not itself a
// trusted proxy: each proxy appends the address it received the request
// from, so that entry was written by our own infrastructure, while the
// entries left of it come from the client and can be forged.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	addr, err := netip.ParseAddr(peer)
	if err != nil || !isTrusted(addr, trusted) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(entries[j]))
			if err != nil {
				// A malformed entry cannot be attributed; the last
				// trusted hop is the best we know.
				return addr.String()
			}
			hop = hop.Unmap()
			if !isTrusted(hop, trusted) {
				return hop.String()
			}
			addr = hop
		}
	}
	return addr.String()
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	addr = addr.Unmap()
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Network is the unit per-client limits count against (the API rate limit
// for anonymous callers, the cap on anonymous slot holds): the IPv4
// address itself, or the /64 an IPv6 address belongs to, since one IPv6
// client is usually given a whole /64 and can pick any address in it.
// It is empty when the request's address is unknown (calls that did not
// come through the HTTP middleware).
func (c Client) Network() string {
	addr, err := netip.ParseAddr(c.IP)
	if err != nil {
		return c.IP
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}
