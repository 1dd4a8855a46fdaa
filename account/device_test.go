package account

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A device cookie proves the account's device only as issued: not for
// another account, not altered, not after the password changed, not past
// its lifetime, not under another server key.
func TestDeviceCookieIsBoundToAccountPasswordAndTime(t *testing.T) {
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	s := &Service{Repo: &memFailures{}, DeviceKey: DeviceKeyFrom([]byte("server secret")), Config: DefaultConfig(), Now: func() time.Time { return now }}
	acc := &Account{ID: 42, PasswordChangedAt: now.Add(-time.Hour)}
	c := s.issueDevice(acc, now)
	if s.known(t, []string{c}, acc, now.Add(time.Hour)) != c {
		t.Fatal("a fresh cookie is not recognised")
	}
	other := *acc
	other.ID = 43
	if s.known(t, []string{c}, &other, now) != "" {
		t.Error("the cookie of account 42 opened account 43")
	}
	forged := strings.Replace(c, "42.", "43.", 1)
	if s.known(t, []string{forged}, &other, now) != "" {
		t.Error("a cookie with its account changed was accepted")
	}
	changed := *acc
	changed.PasswordChangedAt = now
	if s.known(t, []string{c}, &changed, now) != "" {
		t.Error("the cookie survived a password change")
	}
	if s.known(t, []string{c}, acc, now.Add(DeviceCookieLifetime+time.Second)) != "" {
		t.Error("an expired cookie was accepted")
	}
	s2 := &Service{Repo: &memFailures{}, DeviceKey: DeviceKeyFrom([]byte("another server")), Config: DefaultConfig()}
	if s2.known(t, []string{c}, acc, now) != "" {
		t.Error("a cookie signed under another key was accepted")
	}
	none := &Service{Config: DefaultConfig()}
	if none.issueDevice(acc, now) != "" || none.known(t, []string{c}, acc, now) != "" {
		t.Error("without a device key no device should be known")
	}
	// MaxFailures wrong passwords on the device make it a stranger; a
	// success before that resets the count.
	ctx := context.Background()
	fail := func() bool {
		t.Helper()
		distrusted, err := s.deviceFailure(ctx, c, now)
		if err != nil {
			t.Fatal(err)
		}
		return distrusted
	}
	fail()
	if err := s.deviceSuccess(ctx, c); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < s.Config.MaxFailures; i++ {
		if fail() {
			t.Fatalf("device distrusted after %d failures", i)
		}
	}
	if !fail() || s.known(t, []string{c}, acc, now) != "" {
		t.Error("the device is still trusted after MaxFailures wrong passwords")
	}
}

// One browser keeps one entry per account, newest first, at most five.
func TestJoinDeviceCookie(t *testing.T) {
	v := JoinDeviceCookie("1.100.a", nil)
	for i := 2; i <= 7; i++ {
		v = JoinDeviceCookie(string(rune('0'+i))+".100.x", SplitDeviceCookie(v))
	}
	es := SplitDeviceCookie(v)
	if len(es) != MaxDeviceCookies || es[0] != "7.100.x" || es[4] != "3.100.x" {
		t.Fatalf("entries %q", es)
	}
	v = JoinDeviceCookie("5.200.y", es)
	es = SplitDeviceCookie(v)
	if strings.Join(es, " ") != "5.200.y 7.100.x 6.100.x 4.100.x 3.100.x" {
		t.Fatalf("re-issued entry not deduplicated: %q", es)
	}
}

// known is knownDevice, failing the test on an error.
func (s *Service) known(t *testing.T, cookies []string, acc *Account, now time.Time) string {
	t.Helper()
	c, err := s.knownDevice(context.Background(), cookies, acc, now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// memFailures keeps counted failures in memory for the unit tests of the
// device rules (the store's tests run them on the databases); the rest of
// Repository is left to the embedded nil interface.
type memFailures struct {
	Repository
	at map[string][]time.Time
}

func (m *memFailures) AddAuthFailure(ctx context.Context, kind, subject string, at, since time.Time) (int, error) {
	if m.at == nil {
		m.at = map[string][]time.Time{}
	}
	m.at[kind+"|"+subject] = append(m.at[kind+"|"+subject], at)
	n, _, err := m.AuthFailures(ctx, kind, subject, since)
	return n, err
}

func (m *memFailures) AuthFailures(_ context.Context, kind, subject string, since time.Time) (int, time.Time, error) {
	n, last := 0, time.Time{}
	for _, t := range m.at[kind+"|"+subject] {
		if !t.Before(since) {
			n++
			last = t
		}
	}
	return n, last, nil
}

func (m *memFailures) ClearAuthFailures(_ context.Context, kind, subject string) error {
	delete(m.at, kind+"|"+subject)
	return nil
}
