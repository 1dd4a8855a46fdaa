package smart

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestScopes(t *testing.T) {
	for _, c := range []struct {
		in      string
		ok      bool
		allows  []string
		refuses []string
	}{
		{"system/Patient.read", true, []string{"Patient"}, []string{"Observation", "Group"}},
		{"system/*.read", true, []string{"Patient", "Observation", "Group"}, nil},
		{"system/Observation.rs system/Condition.r", true, []string{"Observation", "Condition"}, []string{"Patient"}},
		{"  system/Patient.read   system/Patient.read ", true, []string{"Patient"}, nil},
		{"system/Patient.write", false, nil, nil},
		{"system/Patient.cruds", false, nil, nil},
		{"patient/*.read", false, nil, nil},
		{"user/Patient.read", false, nil, nil},
		{"system/patient.read", false, nil, nil},
		{"launch/patient", false, nil, nil},
		{"", true, nil, []string{"Patient"}},
	} {
		ss, ok := ParseScopes(c.in)
		if ok != c.ok {
			t.Errorf("ParseScopes(%q) ok %v, want %v", c.in, ok, c.ok)
			continue
		}
		for _, typ := range c.allows {
			if !ss.Allows(typ) {
				t.Errorf("%q does not allow %s", c.in, typ)
			}
		}
		for _, typ := range c.refuses {
			if ss.Allows(typ) {
				t.Errorf("%q allows %s", c.in, typ)
			}
		}
	}
	if ss, _ := ParseScopes("system/Patient.read system/Patient.read"); len(ss) != 1 {
		t.Errorf("duplicates kept: %v", ss)
	}
	// Granting: a requested scope needs a registered one of its type or *.
	for _, c := range []struct {
		req, reg string
		want     string // "" : invalid_scope
	}{
		{"system/Patient.read", "system/*.read", "system/Patient.read"},
		{"system/*.read", "system/*.read", "system/*.read"},
		{"system/*.read", "system/Patient.read", ""},
		{"system/Observation.read system/Patient.read", "system/Patient.read", "system/Patient.read"},
		{"system/Observation.read", "system/Patient.read", ""},
	} {
		reg, _ := ParseScopes(c.reg)
		got, te := grantScopes(c.req, reg)
		if strings.Join(got, " ") != c.want || (c.want == "") != (te != nil) {
			t.Errorf("grant %q of %q: %v %v, want %q", c.req, c.reg, got, te, c.want)
		}
	}
}

func TestParseKeys(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pemOf := func(k any) string {
		der, _ := x509.MarshalPKIXPublicKey(k)
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	jwk := func(k any) string { b, _ := json.Marshal(jose.JSONWebKey{Key: k}); return string(b) }
	set := func(ks ...any) string {
		var s jose.JSONWebKeySet
		for _, k := range ks {
			s.Keys = append(s.Keys, jose.JSONWebKey{Key: k})
		}
		b, _ := json.Marshal(s)
		return string(b)
	}
	privDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	for _, c := range []struct {
		name, in string
		ok       bool
	}{
		{"RSA PEM", pemOf(&rsaKey.PublicKey), true},
		{"two PEM keys", pemOf(&rsaKey.PublicKey) + pemOf(&ec384.PublicKey), true},
		{"EC P-384 JWK", jwk(&ec384.PublicKey), true},
		{"JWK Set", set(&rsaKey.PublicKey, &ec384.PublicKey), true},
		{"RSA 1024", pemOf(&weak.PublicKey), false},
		{"EC P-256", jwk(&ec256.PublicKey), false},
		{"private JWK", jwk(ec384), false},
		{"private PEM", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), false},
		{"symmetric JWK", `{"kty":"oct","k":"c2VjcmV0"}`, false},
		{"empty set", `{"keys":[]}`, false},
		{"garbage", "hello", false},
	} {
		out, err := ParseKeys(c.in)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if c.ok {
			var s jose.JSONWebKeySet
			if json.Unmarshal([]byte(out), &s) != nil || len(s.Keys) == 0 || s.Keys[0].KeyID == "" || !s.Keys[0].IsPublic() {
				t.Errorf("%s: stored %s", c.name, out)
			}
		}
	}
}

// TestVerifyAssertionAlgorithms: only RS384 and ES384 are taken; an
// assertion signed HS256 with the public key as the secret, or with "none",
// is refused before any key is tried.
func TestVerifyAssertionAlgorithms(t *testing.T) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks, err := ParseKeys(func() string {
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}())
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{ClientID: "c1", JWKS: jwks}
	now := time.Now()
	claims := jwt.Claims{Issuer: "c1", Subject: "c1", Audience: jwt.Audience{"https://x/fhir/auth/token"}, Expiry: jwt.NewNumericDate(now.Add(time.Minute)), ID: "j"}
	sign := func(alg jose.SignatureAlgorithm, key any) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := jwt.Signed(s).Claims(claims).Serialize()
		return raw
	}
	if _, te := VerifyAssertion(sign(jose.RS384, k), c, "https://x/fhir/auth/token", now, 5*time.Minute); te != nil {
		t.Fatalf("RS384: %v", te)
	}
	for name, raw := range map[string]string{
		"RS256": sign(jose.RS256, k),
		"HS256": sign(jose.HS256, x509.MarshalPKCS1PublicKey(&k.PublicKey)),
		"none":  "eyJhbGciOiJub25lIn0." + strings.Split(sign(jose.RS384, k), ".")[1] + ".",
	} {
		if _, te := VerifyAssertion(raw, c, "https://x/fhir/auth/token", now, 5*time.Minute); te == nil || te.Code != "invalid_client" {
			t.Errorf("%s accepted: %v", name, te)
		}
	}
}

// FuzzParseKeys: the registration's key parser takes any text without
// panicking, and what it accepts is public keys only.
func FuzzParseKeys(f *testing.F) {
	f.Add(`{"keys":[{"kty":"EC","crv":"P-384","x":"AAAA","y":"AAAA"}]}`)
	f.Add("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n")
	f.Add(`{"kty":"RSA","n":"AQAB","e":"AQAB"}`)
	f.Fuzz(func(t *testing.T, in string) {
		out, err := ParseKeys(in)
		if err != nil {
			return
		}
		var s jose.JSONWebKeySet
		if json.Unmarshal([]byte(out), &s) != nil {
			t.Fatalf("accepted %q, stored unreadable %q", in, out)
		}
		for _, k := range s.Keys {
			if !k.IsPublic() {
				t.Fatalf("accepted a private key from %q", in)
			}
		}
	})
}

// FuzzVerifyAssertion: any assertion text is refused or verified without
// panicking.
func FuzzVerifyAssertion(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey}}})
	jwks, _ := ParseKeys(string(b))
	c := &Client{ClientID: "c1", JWKS: jwks}
	f.Add("eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJjMSJ9.AAAA")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, raw string) {
		VerifyAssertion(raw, c, "https://x/fhir/auth/token", time.Now(), 5*time.Minute)
		assertionIssuer(raw)
	})
}
