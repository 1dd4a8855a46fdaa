package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"countycare/access"
	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/resident"
	"countycare/store"
)

type countingRecorder struct{ n int }

func (c *countingRecorder) Record(context.Context, audit.Event) { c.n++ }

// TestPolicyStopsBeforeHandler registers a handler that records being
// called behind policies that refuse the caller, and checks it never runs.
func TestPolicyStopsBeforeHandler(t *testing.T) {
	st := testdb.Open(t, store.SQLite, time.Now)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	res, err := demo.Generate(ctx, st, demo.Config{Residents: 200, Villages: 20, VillageDoctors: 20}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	rec := &countingRecorder{}
	orgs := &org.Service{Repo: st, Now: time.Now}
	accounts := &account.Service{Repo: st, Config: account.DefaultConfig(), Now: time.Now, Orgs: orgs}
	s, err := New(Config{}, Deps{Residents: &resident.Service{Repo: st, Orgs: orgs, Audit: rec, Now: time.Now}, Orgs: orgs,
		Accounts: accounts, Store: st, Audit: rec, Log: quiet, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	var vd demo.Login
	for _, l := range res.Logins {
		if l.Role == care.RoleVillageDoctor {
			vd = l
		}
	}
	tok, _, err := accounts.Login(ctx, account.Credentials{Username: vd.Username, Password: vd.Password})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []access.Policy{{}, access.Allow(care.RoleAuditor), access.Ops(), access.Allow()} {
		reached := false
		h := s.wrap("GET /probe", p, true, 1<<20, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
			reached = true
			return nil
		}, nil)
		for _, cookie := range []string{"", tok} {
			req := httptest.NewRequest("GET", "/probe", nil)
			req.RemoteAddr = "192.0.2.1:1234" // not loopback: Ops refuses too
			if cookie != "" {
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if reached || w.Code < 400 {
				t.Errorf("policy %+v, session %v: handler reached=%v status %d", p, cookie != "", reached, w.Code)
			}
		}
	}
	if rec.n == 0 {
		t.Error("no denial was audited")
	}
}
