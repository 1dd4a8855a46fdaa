package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// Session is a server-side sign-in session. The browser holds only a
// random token; the database holds its SHA-256, so a copy of the database
// does not let anyone sign in.
type Session struct {
	ID        int64
	TokenHash string
	AccountID int64
	CSRFToken string // synchroniser token for forms and API writes
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time // absolute end
	IP        string
	UserAgent string

	// Set at sign-in only, never stored:
	KnownDevice  bool   // signed in from a device cookie of the account: the account's lock does not apply, nor is it cleared
	DeviceCookie string // the device cookie value to give the browser (DeviceCookieLifetime)
}

// NewToken returns a random 256-bit token, URL-safe.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("account: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the hex SHA-256 of a session token.
func HashToken(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

// Expired reports whether the session is over at t: idle too long or past
// its absolute end.
func (s *Session) Expired(t time.Time, c Config) bool {
	return !t.Before(s.ExpiresAt) || t.Sub(s.LastSeen) >= c.IdleTimeout
}

// TouchEvery is how stale LastSeen may get before a request writes it
// again; idle expiry is therefore exact to within this.
const TouchEvery = time.Minute

// NeedsTouch reports whether a request at t should update LastSeen.
func (s *Session) NeedsTouch(t time.Time) bool { return t.Sub(s.LastSeen) >= TouchEvery }
