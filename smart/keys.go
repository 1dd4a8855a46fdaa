package smart

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Algorithms are the assertion signatures accepted (SMART Backend
// Services: the server must support RS384 and ES384).
var Algorithms = []jose.SignatureAlgorithm{jose.RS384, jose.ES384}

// MaxKeys is how many keys one client may register.
const MaxKeys = 10

// ParseKeys reads a client's public keys — a JWK Set, one JWK, or one or
// more PEM "PUBLIC KEY" blocks — and returns them as a JWK Set (JSON). It
// refuses private keys, symmetric keys, RSA keys under 2048 bits and EC
// keys on another curve than P-384 (ES384).
func ParseKeys(v string) (string, error) {
	v = strings.TrimSpace(v)
	var set jose.JSONWebKeySet
	switch {
	case strings.HasPrefix(v, "-----BEGIN"):
		rest := []byte(v)
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type != "PUBLIC KEY" {
				return "", errors.New("smart: only PUBLIC KEY blocks")
			}
			k, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				return "", err
			}
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k})
		}
	case strings.HasPrefix(v, "{"):
		if strings.Contains(v, `"keys"`) {
			if err := json.Unmarshal([]byte(v), &set); err != nil {
				return "", err
			}
		} else {
			var k jose.JSONWebKey
			if err := json.Unmarshal([]byte(v), &k); err != nil {
				return "", err
			}
			set.Keys = append(set.Keys, k)
		}
	}
	if len(set.Keys) == 0 || len(set.Keys) > MaxKeys {
		return "", errors.New("smart: no keys, or too many")
	}
	for i, k := range set.Keys {
		switch pk := k.Key.(type) {
		case *rsa.PublicKey:
			if pk.N.BitLen() < 2048 {
				return "", errors.New("smart: RSA key under 2048 bits")
			}
			set.Keys[i].Algorithm = string(jose.RS384)
		case *ecdsa.PublicKey:
			if pk.Curve != elliptic.P384() {
				return "", errors.New("smart: EC key not on P-384")
			}
			set.Keys[i].Algorithm = string(jose.ES384)
		default:
			return "", errors.New("smart: not an RSA or EC public key")
		}
		if set.Keys[i].KeyID == "" {
			tp, err := set.Keys[i].Thumbprint(cryptoSHA256)
			if err != nil {
				return "", err
			}
			set.Keys[i].KeyID = b64(tp)
		}
		set.Keys[i].Use = "sig"
	}
	out, err := json.Marshal(set)
	return string(out), err
}

// assertionIssuer returns the iss of an assertion before its signature is
// checked: it names the client whose keys check it.
func assertionIssuer(raw string) (string, error) {
	if len(raw) > 16<<10 {
		return "", errors.New("smart: assertion too long")
	}
	t, err := jwt.ParseSigned(raw, Algorithms)
	if err != nil {
		return "", err
	}
	var cl jwt.Claims
	if err := t.UnsafeClaimsWithoutVerification(&cl); err != nil {
		return "", err
	}
	if cl.Issuer == "" {
		return "", errors.New("smart: no iss")
	}
	return cl.Issuer, nil
}

// VerifyAssertion checks a client's authentication JWT (Backend Services
// §"Authenticating to the token endpoint"): signed RS384 or ES384 by one
// of the client's keys (the kid header, when given, picks it), iss = sub =
// client_id, aud = the token URL, exp no later than maxTTL from now and
// not past, a jti. It returns the claims, or the OAuth error to answer.
func VerifyAssertion(raw string, c *Client, tokenURL string, now time.Time, maxTTL time.Duration) (*jwt.Claims, *TokenError) {
	bad := func(d string) (*jwt.Claims, *TokenError) { return nil, &TokenError{"invalid_client", d} }
	t, err := jwt.ParseSigned(raw, Algorithms)
	if err != nil || len(t.Headers) != 1 {
		return bad("client_assertion is not a JWS signed with RS384 or ES384")
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(c.JWKS), &set); err != nil {
		return nil, &TokenError{"invalid_client", "the client's registered keys cannot be read"}
	}
	keys := set.Keys
	if kid := t.Headers[0].KeyID; kid != "" {
		keys = set.Key(kid)
	}
	var cl *jwt.Claims
	for _, k := range keys {
		if k.Algorithm != t.Headers[0].Algorithm {
			continue
		}
		var got jwt.Claims
		if t.Claims(k.Key, &got) == nil {
			cl = &got
			break
		}
	}
	if cl == nil {
		return bad("the signature does not verify with the client's registered keys")
	}
	if cl.Issuer != c.ClientID || cl.Subject != c.ClientID {
		return bad("iss and sub must both be the client_id")
	}
	if !cl.Audience.Contains(tokenURL) {
		return bad("aud must be the token endpoint " + tokenURL)
	}
	if cl.Expiry == nil {
		return bad("exp is required")
	}
	exp := cl.Expiry.Time()
	if !exp.After(now) {
		return bad("the assertion has expired")
	}
	if exp.Sub(now) > maxTTL {
		return bad("exp must be no more than five minutes in the future")
	}
	if cl.NotBefore != nil && cl.NotBefore.Time().After(now.Add(time.Minute)) {
		return bad("the assertion is not valid yet")
	}
	if cl.ID == "" || len(cl.ID) > 255 {
		return bad("jti is required")
	}
	return cl, nil
}

const cryptoSHA256 = crypto.SHA256

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
