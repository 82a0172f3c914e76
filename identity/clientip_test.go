package identity

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		peer    string
		forward []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies configured: the peer", "203.0.113.5:4000", []string{"198.51.100.1"}, nil, "203.0.113.5"},
		{"untrusted peer: X-Forwarded-For ignored", "203.0.113.5:4000", []string{"198.51.100.1"}, trusted, "203.0.113.5"},
		{"trusted peer: the client it forwarded", "10.1.2.3:4000", []string{"198.51.100.1"}, trusted, "198.51.100.1"},
		{"forged entries left of the real one are ignored", "10.1.2.3:4000", []string{"1.1.1.1, 198.51.100.1"}, trusted, "198.51.100.1"},
		{"a chain of trusted proxies is skipped", "10.1.2.3:4000", []string{"198.51.100.1, 10.9.9.9", "10.4.4.4"}, trusted, "198.51.100.1"},
		{"trusted peer without the header: the peer", "10.1.2.3:4000", nil, trusted, "10.1.2.3"},
		{"garbage entry: the last trusted hop", "10.1.2.3:4000", []string{"198.51.100.1, not-an-ip"}, trusted, "10.1.2.3"},
		{"IPv6 peer and client", "[fd00::1]:4000", []string{"2001:db8::7"}, trusted, "2001:db8::7"},
		{"IPv4-mapped client is reported as IPv4", "10.1.2.3:4000", []string{"::ffff:198.51.100.1"}, trusted, "198.51.100.1"},
		{"all hops trusted: the leftmost", "10.1.2.3:4000", []string{"10.7.7.7"}, trusted, "10.7.7.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/graphql", nil)
			r.RemoteAddr = tt.peer
			for _, f := range tt.forward {
				r.Header.Add("X-Forwarded-For", f)
			}
			if got := clientIP(r, tt.trusted); got != tt.want {
				t.Fatalf("clientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClientNetwork(t *testing.T) {
	for ip, want := range map[string]string{
		"198.51.100.1":               "198.51.100.1",
		"::ffff:198.51.100.1":        "198.51.100.1",
		"2001:db8:1:2:3:4:5:6":       "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":       "2001:db8:1:2::/64",
		"2001:db8:1:3::1":            "2001:db8:1:3::/64",
		"":                           "",
		"not-an-address-from-a-pipe": "not-an-address-from-a-pipe",
	} {
		if got := (Client{IP: ip}).Network(); got != want {
			t.Errorf("Network(%q) = %q, want %q", ip, got, want)
		}
	}
}
