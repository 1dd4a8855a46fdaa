package account_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/resident"
	"countycare/store"
)

// clock is a movable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func newClock(t time.Time) *clock    { return &clock{t: t} }
func lastCode(t *testing.T, st *store.Store, phone string) string {
	t.Helper()
	msgs, err := st.PendingMessages(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	code := ""
	for _, m := range msgs {
		if m.Purpose == account.CodePurpose && m.Recipient == phone {
			code = m.Params["code"]
		}
	}
	return code
}

// codeEnv is a small demo county, an account service on a movable clock,
// and an adult resident without an account whose record has phone.
func codeEnv(t *testing.T, d store.Dialect, phone string) (*store.Store, *account.Service, *clock, *resident.Resident) {
	t.Helper()
	st := testdb.Open(t, d, time.Now)
	ctx := context.Background()
	if _, err := demo.Generate(ctx, st, demo.Config{Residents: 120, Villages: 2, VillageDoctors: 2}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	clk := newClock(time.Now())
	svc := &account.Service{Repo: st, Config: account.DefaultConfig(), Now: clk.Now}
	for id := int64(1); id < 200; id++ {
		r, err := st.Resident(ctx, id)
		if err != nil || r.Age(care.Today(clk.Now())) < care.AdultAge || r.Status != resident.StatusActive {
			continue
		}
		if owners, _ := st.PhoneOwners(ctx, r.Phone); len(owners) == 1 && owners[0].AccountID != 0 {
			continue
		}
		r.Phone = phone
		if err := st.UpdateResident(ctx, r, audit.Event{Action: audit.ActResidentUpdate, ResidentID: r.ID, Time: clk.Now(), Outcome: audit.OutcomeOK}); err != nil {
			t.Fatal(err)
		}
		return st, svc, clk, r
	}
	t.Fatal("no adult resident in the demo county")
	return nil, nil, nil, nil
}

// TestCodeExpiryReuseAndTries: a code works once and for five minutes;
// five wrong tries spend it; the first sign-in claims an account for the
// adult whose record has the number, recording consent and an audit row.
func TestCodeExpiryReuseAndTries(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		const phone = "13700001111"
		st, svc, clk, r := codeEnv(t, d, phone)
		ctx := context.Background()
		login := func(code string) error {
			_, _, err := svc.LoginWithCode(ctx, account.CodeLogin{Phone: phone, Code: code, IP: "10.0.0.9"})
			return err
		}
		refusal := func(err error) string {
			if ce, ok := err.(*care.Error); ok {
				return ce.Key
			}
			return "no refusal"
		}
		if k := refusal(login("123456")); k != "signin.code_none" {
			t.Fatalf("before any code: %s", k)
		}
		// Expiry: the code is refused one instant after five minutes.
		if err := svc.RequestCode(ctx, "+86 137-0000-1111", "10.0.0.9"); err != nil {
			t.Fatal(err)
		}
		code := lastCode(t, st, phone)
		clk.Add(account.DefaultCodeConfig().Lifetime)
		if k := refusal(login(code)); k != "signin.code_expired" {
			t.Fatalf("code after 5 minutes: %s, want expired", k)
		}
		// Tries: four wrong say how many are left, the fifth spends the
		// code, and then even the right code is refused.
		if err := svc.RequestCode(ctx, phone, "10.0.0.9"); err != nil {
			t.Fatal(err)
		}
		code = lastCode(t, st, phone)
		wrong := "999999"
		if code == wrong {
			wrong = "888888"
		}
		for i := 1; i <= 4; i++ {
			if k := refusal(login(wrong)); k != "signin.code_wrong" {
				t.Fatalf("wrong try %d: %s", i, k)
			}
		}
		if k := refusal(login(wrong)); k != "signin.code_spent" {
			t.Fatalf("fifth wrong try: %s, want spent", k)
		}
		if k := refusal(login(code)); k != "signin.code_spent" {
			t.Fatalf("right code after five wrong: %s, want spent", k)
		}
		// A fresh code signs in once and claims the account.
		clk.Add(time.Minute)
		if err := svc.RequestCode(ctx, phone, "10.0.0.9"); err != nil {
			t.Fatal(err)
		}
		code = lastCode(t, st, phone)
		if err := login(code); err != nil {
			t.Fatalf("right code: %v", err)
		}
		if k := refusal(login(code)); k != "signin.code_used" {
			t.Fatalf("code used twice: %s", k)
		}
		acc, err := st.AccountByUsername(ctx, account.ResidentUsername(r.ID))
		if err != nil || acc.ResidentID != r.ID || acc.Role != care.RoleResident {
			t.Fatalf("claimed account %+v: %v", acc, err)
		}
		if c, err := st.SigninConsent(ctx, r.ID); err != nil || c.Method != account.ConsentClaimed {
			t.Fatalf("consent of the claim: %+v %v", c, err)
		}
		evs, _ := st.SearchAudit(ctx, audit.Filter{Action: account.ActClaim})
		if len(evs) != 1 || evs[0].ResidentID != r.ID {
			t.Fatalf("claim audit rows: %+v", evs)
		}
		// A password never signs in to a code-only account.
		if _, _, err := svc.Login(ctx, account.Credentials{Username: acc.Username, Password: account.NoPassword, IP: "10.0.0.9"}); !care.IsCode(err, care.EUNAUTHORIZED) {
			t.Fatalf("password sign-in to a code-only account: %v", err)
		}
	})
}

// TestCodeRateLimits: codes to one number are limited per hour and
// spaced by a minute, and one address cannot ask for more than its share
// across numbers; the counts are in the database, so a second service
// (another replica) sees them.
func TestCodeRateLimits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		const phone = "13700002222"
		st, svc, clk, _ := codeEnv(t, d, phone)
		ctx := context.Background()
		replica := &account.Service{Repo: st, Config: account.DefaultConfig(), Now: clk.Now}
		cfg := account.DefaultCodeConfig()
		key := func(err error) string {
			if ce, ok := err.(*care.Error); ok {
				return ce.Key
			}
			return "no refusal"
		}
		if err := svc.RequestCode(ctx, phone, "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if k := key(replica.RequestCode(ctx, phone, "10.0.0.2")); k != "signin.code_wait" {
			t.Fatalf("second code within a minute on another replica: %s", k)
		}
		for i := 2; i <= cfg.PerPhone; i++ {
			clk.Add(cfg.Resend)
			if err := replica.RequestCode(ctx, phone, "10.0.0.1"); err != nil {
				t.Fatalf("code %d of %d: %v", i, cfg.PerPhone, err)
			}
		}
		clk.Add(cfg.Resend)
		if k := key(svc.RequestCode(ctx, phone, "10.0.0.3")); k != "signin.code_too_many" {
			t.Fatalf("code %d within the hour: %s", cfg.PerPhone+1, k)
		}
		clk.Add(cfg.Window)
		if err := svc.RequestCode(ctx, phone, "10.0.0.3"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		// Per address: many numbers from one address.
		for i := 0; i < cfg.PerAddress; i++ {
			if err := svc.RequestCode(ctx, fmt.Sprintf("136%08d", i), "10.9.9.9"); err != nil {
				t.Fatalf("number %d from one address: %v", i, err)
			}
		}
		if k := key(replica.RequestCode(ctx, "13600009999", "10.9.9.9")); k != "signin.code_too_many" {
			t.Fatalf("more codes than the address's share: %s", k)
		}
		if got := lastCode(t, st, "13600009999"); got != "" {
			t.Fatal("a refused request queued a message")
		}
	})
}
