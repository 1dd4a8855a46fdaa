package store_test

import (
	"context"
	"strconv"
	"testing"

	"countycare/account"
	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/store"
)

// TestStepUpNotLockedByStrangers: strangers who lock a doctor's account at
// the sign-in page do not keep the signed-in doctor out of online visits:
// the session's correct password still passes the step-up, and a typo
// does not end the session; the session's own fifth wrong password does.
func TestStepUpNotLockedByStrangers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		var login demo.Login
		for _, l := range f.demo.Logins {
			if l.Role == care.RoleTownshipDoctor {
				login = l
			}
		}
		tok, _, err := f.accounts.Login(ctx, account.Credentials{Username: login.Username, Password: login.Password, IP: "198.51.100.7"})
		if err != nil {
			t.Fatal(err)
		}
		_, doctor, err := f.accounts.Authenticate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < f.accounts.Config.MaxFailures; i++ {
			f.accounts.Login(ctx, account.Credentials{Username: login.Username, Password: "Stranger-Guess-" + strconv.Itoa(i), IP: "203.0.113.9"})
		}
		acc, err := f.st.Account(ctx, doctor.AccountID)
		if err != nil || !acc.Locked(f.clk.Now()) {
			t.Fatalf("strangers did not lock the account: %v", err)
		}
		if err := f.accounts.Reauthenticate(ctx, doctor, login.Password, "online visit 1"); err != nil {
			t.Fatalf("the signed-in doctor's correct password at step-up, account locked by strangers: %v", err)
		}
		err = f.accounts.Reauthenticate(ctx, doctor, "typo-typo-typo", "online visit 1")
		if ce, ok := err.(*care.Error); !ok || ce.Key != "auth.step_up_failed" {
			t.Fatalf("one typo while strangers hold the lock: %v, want auth.step_up_failed (session kept)", err)
		}
		if _, _, err := f.accounts.Authenticate(ctx, tok); err != nil {
			t.Fatalf("the session ended after one typo: %v", err)
		}
		for i := 1; i < f.accounts.Config.MaxFailures; i++ {
			err = f.accounts.Reauthenticate(ctx, doctor, "typo-typo-typo", "online visit 1")
		}
		if ce, ok := err.(*care.Error); !ok || ce.Key != "auth.required" {
			t.Fatalf("the session's fifth wrong password: %v, want auth.required", err)
		}
		if _, _, err := f.accounts.Authenticate(ctx, tok); !care.IsCode(err, care.EUNAUTHORIZED) {
			t.Fatalf("the session survived its fifth wrong password: %v", err)
		}
	})
}
