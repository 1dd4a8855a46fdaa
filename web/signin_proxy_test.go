package web_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"testing"

	"countycare/care"
	"countycare/demo"
	"countycare/store"
	"countycare/web"
)

// signIn posts the JSON sign-in as c from the client address xff (sent as
// X-Forwarded-For; "" sends none).
func (c *client) signIn(username, password, xff string) response {
	c.e.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	hdr := map[string]string{}
	if c.csrf != "" {
		hdr["X-CSRF-Token"] = c.csrf // signed in already: the session's token
	}
	if xff != "" {
		hdr["X-Forwarded-For"] = xff
	}
	r := c.do("POST", "/api/v1/session", "application/json", body, hdr)
	if r.code == 200 {
		var out struct {
			CSRF string `json:"csrf_token"`
		}
		json.Unmarshal([]byte(r.body), &out)
		c.csrf = out.CSRF
	}
	return r
}

func proxyEnv(t *testing.T) *env {
	// The test server's peer is loopback: here it is the county's reverse proxy.
	return newEnvWith(t, store.SQLite, envOptions{cfg: web.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
}

// Behind the reverse proxy every request's peer is the proxy; with
// --trusted-proxies the limiter keys on the client's address from
// X-Forwarded-For, so 50 junk sign-ins lock out their sender only.
func TestSignInLimiterBehindProxy(t *testing.T) {
	e := proxyEnv(t)
	attacker := e.anon()
	for i := 0; i < 50; i++ {
		// The proxy appends the address it saw; a forged left part is ignored.
		r := attacker.signIn("nobody"+strconv.Itoa(i), "wrong-password-123", "198.51.100.1, 203.0.113.66")
		if r.code != http.StatusUnauthorized {
			t.Fatalf("junk sign-in %d: %d, want 401", i, r.code)
		}
	}
	if r := attacker.signIn("nobody", "wrong-password-123", "203.0.113.66"); r.code != http.StatusTooManyRequests {
		t.Fatalf("51st junk sign-in from the same client: %d, want 429", r.code)
	}
	// Forging another leftmost address does not escape the limit.
	if r := attacker.signIn("nobody", "wrong-password-123", "192.0.2.200, 203.0.113.66"); r.code != http.StatusTooManyRequests {
		t.Fatalf("junk sign-in with a forged X-Forwarded-For prefix: %d, want 429", r.code)
	}
	// Another user behind the same proxy signs in.
	if r := e.anon().signIn(e.users[care.RoleVillageDoctor], demo.DefaultPassword, "203.0.113.20"); r.code != 200 {
		t.Fatalf("another user's correct sign-in through the proxy: %d %s, want 200", r.code, r.body)
	}
}

// A device the account's owner signed in from keeps working while
// strangers hammer the account: neither the account's lock nor the
// address limit holds it back; strangers stay locked out.
func TestKnownDeviceSignsInWhileAccountHammered(t *testing.T) {
	e := proxyEnv(t)
	user, other := e.users[care.RoleTownshipDoctor], e.users[care.RoleVillageDoctor]
	owner := e.anon()
	if r := owner.signIn(user, demo.DefaultPassword, "203.0.113.20"); r.code != 200 {
		t.Fatalf("owner's first sign-in: %d %s", r.code, r.body)
	}
	setCookie := false
	for _, c := range owner.hc.Jar.Cookies(mustURL(e.ts.URL)) {
		setCookie = setCookie || c.Name == "cc_device"
	}
	if !setCookie {
		t.Fatal("no device cookie after a successful sign-in")
	}
	// Strangers lock the account and exhaust the owner's address too (same NAT).
	stranger := e.anon()
	for i := 0; i < 50; i++ {
		stranger.signIn(user, "Wrong-Password-"+strconv.Itoa(i), "203.0.113.20")
	}
	if r := stranger.signIn(user, demo.DefaultPassword, "198.51.100.30"); r.code != http.StatusUnauthorized {
		t.Fatalf("a stranger's correct password on the locked account: %d, want 401", r.code)
	}
	if r := owner.signIn(user, demo.DefaultPassword, "203.0.113.20"); r.code != 200 {
		t.Fatalf("the owner's correct password from the known device while hammered: %d %s, want 200", r.code, r.body)
	}
	// The owner's sign-in did not clear the lock for strangers.
	if r := e.anon().signIn(user, demo.DefaultPassword, "198.51.100.31"); r.code != http.StatusUnauthorized {
		t.Fatalf("after the owner's sign-in a stranger's correct password: %d, want 401 (still locked)", r.code)
	}
	// The device cookie is the account's: another account locked by
	// strangers is not opened by it.
	for i := 0; i < 5; i++ {
		stranger.signIn(other, "Wrong-Password-"+strconv.Itoa(i), "198.51.100.40")
	}
	if r := owner.signIn(other, demo.DefaultPassword, "198.51.100.41"); r.code != http.StatusUnauthorized {
		t.Fatalf("another locked account from this device: %d, want 401", r.code)
	}
	// Wrong passwords on the known device count against the device: after
	// five it is a stranger again, and the account's lock applies.
	dev := e.anon()
	if r := dev.signIn(e.users[care.RolePharmacist], demo.DefaultPassword, "198.51.100.50"); r.code != 200 {
		t.Fatalf("pharmacist's sign-in: %d", r.code)
	}
	for i := 0; i < 5; i++ {
		dev.signIn(e.users[care.RolePharmacist], "Wrong-Password-"+strconv.Itoa(i), "198.51.100.50")
	}
	for i := 0; i < 5; i++ {
		e.anon().signIn(e.users[care.RolePharmacist], "Wrong-Password-"+strconv.Itoa(i), "198.51.100.51")
	}
	if r := dev.signIn(e.users[care.RolePharmacist], demo.DefaultPassword, "198.51.100.50"); r.code != http.StatusUnauthorized {
		t.Fatalf("a device given up after five wrong passwords on a locked account: %d, want 401", r.code)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
