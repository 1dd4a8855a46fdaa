package account

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device
// Cookies"): a successful sign-in gives the browser a cookie naming the
// account, signed with the server's device key. A later sign-in to that
// account carrying a valid cookie comes from a device the account's owner
// has used: it is not held back by the per-address limiter, nor by the
// lock that failures from other devices put on the account, so strangers
// hammering a username cannot lock its owner out. Wrong passwords on a
// known device count against that device only; after MaxFailures the
// cookie is no longer trusted. A password change or reset invalidates
// every cookie of the account (the password's change time is signed).

// DeviceCookieLifetime is how long a device cookie is trusted after the
// sign-in that issued it (each sign-in issues a fresh one).
const DeviceCookieLifetime = 90 * 24 * time.Hour

// MaxDeviceCookies is how many accounts one browser keeps cookies for (a
// clinic's shared computer).
const MaxDeviceCookies = 5

// deviceSep joins the entries of the cookie; it occurs in none.
const deviceSep = "~"

// DeviceKeyFrom derives the device cookie key from the server's secret
// (the audit key): a separate key, so a device cookie's MAC is never a
// valid audit hash or the other way round.
func DeviceKeyFrom(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("countycare device cookie key v1"))
	return m.Sum(nil)
}

func (s *Service) deviceMAC(accountID int64, issued int64, pwChanged time.Time) string {
	m := hmac.New(sha256.New, s.DeviceKey)
	m.Write([]byte("device\x00" + strconv.FormatInt(accountID, 10) + "\x00" + strconv.FormatInt(issued, 10) + "\x00" +
		strconv.FormatInt(pwChanged.UnixMicro(), 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issueDevice returns a device cookie entry for acc, issued at now.
func (s *Service) issueDevice(acc *Account, now time.Time) string {
	if len(s.DeviceKey) == 0 {
		return ""
	}
	issued := now.Unix()
	return strconv.FormatInt(acc.ID, 10) + "." + strconv.FormatInt(issued, 10) + "." + s.deviceMAC(acc.ID, issued, acc.PasswordChangedAt)
}

// knownDevice returns the entry of cookies that proves acc's device at
// now ("" if none): signed for acc's current password, not expired, and
// not given up after too many wrong passwords.
func (s *Service) knownDevice(ctx context.Context, cookies []string, acc *Account, now time.Time) (string, error) {
	if len(s.DeviceKey) == 0 {
		return "", nil
	}
	for _, c := range cookies {
		parts := strings.Split(c, ".")
		if len(parts) != 3 {
			continue
		}
		id, err1 := strconv.ParseInt(parts[0], 10, 64)
		issued, err2 := strconv.ParseInt(parts[1], 10, 64)
		if err1 != nil || err2 != nil || id != acc.ID {
			continue
		}
		t := time.Unix(issued, 0)
		if now.Sub(t) > DeviceCookieLifetime || t.After(now.Add(time.Minute)) {
			continue
		}
		if !hmac.Equal([]byte(parts[2]), []byte(s.deviceMAC(id, issued, acc.PasswordChangedAt))) {
			continue
		}
		distrusted, err := s.deviceDistrusted(ctx, parts[2], now)
		if err != nil {
			return "", err
		}
		if distrusted {
			continue
		}
		return c, nil
	}
	return "", nil
}

// deviceFailure counts a wrong password on a known device; the
// MaxFailures-th (since the device's last success, within the cookie's
// lifetime) makes the device untrusted and reports true.
func (s *Service) deviceFailure(ctx context.Context, entry string, now time.Time) (bool, error) {
	n, err := s.Repo.AddAuthFailure(ctx, FailDevice, deviceSubject(entry), now, now.Add(-DeviceCookieLifetime))
	return n >= max(s.Config.MaxFailures, 1), err
}

// deviceDistrusted reports whether the device had MaxFailures wrong
// passwords since its last success, the latest within the cookie's lifetime.
func (s *Service) deviceDistrusted(ctx context.Context, mac string, now time.Time) (bool, error) {
	n, _, err := s.Repo.AuthFailures(ctx, FailDevice, deviceSubject(mac), now.Add(-DeviceCookieLifetime))
	return n >= max(s.Config.MaxFailures, 1), err
}

// deviceSuccess forgets the device's wrong passwords.
func (s *Service) deviceSuccess(ctx context.Context, entry string) error {
	return s.Repo.ClearAuthFailures(ctx, FailDevice, deviceSubject(entry))
}

// deviceSubject is how a device's failures are filed: the hash of its
// cookie's MAC (the last part of an entry), so the table holds nothing
// that would help forge a cookie.
func deviceSubject(entry string) string {
	return HashToken(entry[strings.LastIndex(entry, ".")+1:])
}

// SplitDeviceCookie returns the entries of a device cookie's value.
func SplitDeviceCookie(v string) []string {
	if v == "" || len(v) > 2000 {
		return nil
	}
	es := strings.Split(v, deviceSep)
	if len(es) > MaxDeviceCookies {
		es = es[:MaxDeviceCookies]
	}
	return es
}

// JoinDeviceCookie puts entry first in the cookie value and drops the
// account's older entries and any beyond MaxDeviceCookies.
func JoinDeviceCookie(entry string, old []string) string {
	out := []string{entry}
	prefix := entry[:strings.IndexByte(entry, '.')+1]
	for _, e := range old {
		if len(out) == MaxDeviceCookies {
			break
		}
		if e != "" && !strings.HasPrefix(e, prefix) && !strings.Contains(e, deviceSep) {
			out = append(out, e)
		}
	}
	return strings.Join(out, deviceSep)
}
