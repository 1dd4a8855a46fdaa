package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"countycare/care"
)

// Argon2id parameters: OWASP Password Storage Cheat Sheet's first
// recommended configuration (m=19 MiB, t=2, p=1), about 30 ms on this
// project's two-core reference machine. They are stored in each hash, so
// raising them later only affects new hashes.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

// MaxPasswordLen bounds the work a sign-in attempt can cause.
const MaxPasswordLen = 128

// HashPassword returns a PHC-format argon2id hash of pw with a random salt.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("account: unable to read salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches hash. A malformed hash never matches.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || len(pw) > MaxPasswordLen {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 10 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// CheckPolicy returns the faults of a new password: shorter than
// MinPasswordLen, longer than MaxPasswordLen, fewer than three character
// classes (GB/T 22239 8.1.4.1 a: 复杂度要求), or containing the username.
func CheckPolicy(pw, username string, c Config) []care.FieldError {
	var fs []care.FieldError
	n := utf8.RuneCountInString(pw)
	if n < c.MinPasswordLen {
		fs = append(fs, care.FieldError{Field: "password", Key: "password.too_short", Args: []any{c.MinPasswordLen}})
	}
	if len(pw) > MaxPasswordLen {
		fs = append(fs, care.FieldError{Field: "password", Key: "field.too_long", Args: []any{MaxPasswordLen}})
	}
	var lower, upper, digit, other bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	classes := 0
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			classes++
		}
	}
	if classes < 3 {
		fs = append(fs, care.FieldError{Field: "password", Key: "password.classes"})
	}
	if username != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(username)) {
		fs = append(fs, care.FieldError{Field: "password", Key: "password.contains_username"})
	}
	return fs
}
