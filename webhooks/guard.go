package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned for an endpoint whose host is, or
// resolves to, an address Frontdesk must not call: loopback, private,
// link-local (the cloud metadata service), and other non-public ranges.
var ErrForbiddenAddress = errors.New("webhooks: the endpoint's address is not public")

// nonPublic are ranges beyond what netip's predicates name.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: may translate to a private IPv4
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"), // documentation
}

// Public reports whether ip is an address an outgoing webhook may reach.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Guard decides which URLs endpoints may have and dials only public
// addresses. The zero Guard is the production one but for https.
type Guard struct {
	// RequireHTTPS refuses http:// URLs (production).
	RequireHTTPS bool
	// AllowPrivate lifts the address check, for tests and local receivers
	// (FRONTDESK_WEBHOOK_ALLOW_PRIVATE, refused in production).
	AllowPrivate bool
	// Lookup resolves a host name [net.DefaultResolver.LookupNetIP];
	// tests give one that answers 127.0.0.1 for a public-looking name.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

func (g Guard) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{ip}, nil
	}
	if g.Lookup != nil {
		return g.Lookup(ctx, host)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// CheckURL validates an endpoint URL when it is saved: absolute, https
// where required, no credentials, and (unless AllowPrivate) a host that
// resolves only to public addresses. The same check runs again on every
// connection, after DNS resolution, because a name can be re-pointed
// after it was saved.
func (g Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("must be an absolute URL such as https://example.com/webhooks")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && !g.RequireHTTPS:
	default:
		if g.RequireHTTPS {
			return errors.New("must be an https:// URL")
		}
		return errors.New("must be an http:// or https:// URL")
	}
	if u.User != nil {
		return errors.New("must not carry a user name or password; authenticate deliveries by their signature")
	}
	if u.Fragment != "" {
		return errors.New("must not have a #fragment")
	}
	if g.AllowPrivate {
		return nil
	}
	ips, err := g.lookup(ctx, u.Hostname())
	if err != nil {
		return fmt.Errorf("host %s does not resolve", u.Hostname())
	}
	for _, ip := range ips {
		if !Public(ip) {
			return fmt.Errorf("host %s resolves to %s, which is not a public address", u.Hostname(), ip)
		}
	}
	return nil
}

// Timeouts bound one delivery attempt.
type Timeouts struct {
	Connect  time.Duration // TCP connect and TLS handshake [5s]
	Response time.Duration // from the request sent to the response's end [15s]
}

// Client returns the HTTP client deliveries use: it resolves names itself
// and dials a checked address (the dialer's Control function checks the
// address actually connected to, so neither DNS rebinding nor a name with
// several addresses gets past it), ignores proxy settings (a proxy would
// connect on our behalf), follows no redirects and keeps no idle
// connections to hosts that may have been re-pointed.
func (g Guard) Client(t Timeouts) *http.Client {
	if t.Connect <= 0 {
		t.Connect = 5 * time.Second
	}
	if t.Response <= 0 {
		t.Response = 15 * time.Second
	}
	dialer := &net.Dialer{Timeout: t.Connect, Control: g.control}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ips, err := g.lookup(ctx, host)
			if err != nil {
				return nil, fmt.Errorf("resolve %s: %w", host, err)
			}
			var errs []error
			for _, ip := range ips {
				c, err := dialer.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
				if err == nil {
					return c, nil
				}
				errs = append(errs, err)
			}
			if len(errs) == 0 {
				return nil, fmt.Errorf("resolve %s: no addresses", host)
			}
			return nil, errors.Join(errs...)
		},
		TLSHandshakeTimeout:   t.Connect,
		ResponseHeaderTimeout: t.Response,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   t.Connect + t.Response,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			// A redirect could point anywhere, including inside; the
			// 3xx is recorded as a failed attempt instead.
			return http.ErrUseLastResponse
		},
	}
}

// control runs after resolution, just before connect, with the address
// the socket is about to reach.
func (g Guard) control(_, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
	}
	if !Public(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
	}
	return nil
}
