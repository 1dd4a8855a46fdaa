package web

import (
	"net/http/httptest"
	"testing"
)

// The client's address: X-Forwarded-For counts only from a configured
// proxy, and then its rightmost hop that is not itself a trusted proxy.
func TestClientIPTrustsOnlyConfiguredProxies(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.5, 192.168.10.0/24,::1")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: Config{TrustedProxies: proxies}}
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer: its X-Forwarded-For is ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted proxy, one hop", "10.0.0.5:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"forged left part ignored", "10.0.0.5:443", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies skipped", "10.0.0.5:443", []string{"198.51.100.1, 192.168.10.7"}, "198.51.100.1"},
		{"several header lines", "10.0.0.5:443", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		{"trusted proxy without header", "10.0.0.5:443", nil, "10.0.0.5"},
		{"garbage hop: last good address", "10.0.0.5:443", []string{"<script>, 192.168.10.7"}, "192.168.10.7"},
		{"IPv6 proxy", "[::1]:443", []string{"2001:db8::7"}, "2001:db8::7"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientIP(r); got != tc.want {
			t.Errorf("%s: clientIP = %q, want %q", tc.name, got, tc.want)
		}
	}
	untrusting := &Server{}
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr, r.Header["X-Forwarded-For"] = "10.0.0.5:443", []string{"198.51.100.1"}
	if got := untrusting.clientIP(r); got != "10.0.0.5" {
		t.Errorf("no --trusted-proxies: clientIP = %q, want the peer", got)
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8,proxy.local"); err == nil {
		t.Error("a host name was accepted as a trusted proxy")
	}
}
