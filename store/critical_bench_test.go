package store_test

import (
	"context"
	"testing"
	"time"

	"countycare/account"
	"countycare/care"
	"countycare/critical"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/resident"
	"countycare/store"
)

// BenchmarkCriticalEscalation measures one scheduler pass that escalates
// 500 overdue alerts (a full batch: one transaction, messages to every
// practitioner of the township center, audit rows) on SQLite.
//
//	go test ./store -run '^$' -bench CriticalEscalation -benchtime 5x
func BenchmarkCriticalEscalation(b *testing.B) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}
	st := testdb.Open(b, store.SQLite, clk.Now)
	res, err := demo.Generate(ctx, st, demo.Config{Residents: 3000, Villages: 20, VillageDoctors: 40, Now: clk.Now()}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	orgs := &org.Service{Repo: st, Now: clk.Now}
	rec := syncRecorder{st, b}
	residents := &resident.Service{Repo: st, Orgs: orgs, Audit: rec, Now: clk.Now}
	accounts := &account.Service{Repo: st, Config: account.DefaultConfig(), Now: clk.Now, Orgs: orgs}
	var vd care.Actor
	for _, l := range res.Logins {
		if l.Role == care.RoleVillageDoctor {
			tok, _, err := accounts.Login(ctx, account.Credentials{Username: l.Username, Password: l.Password})
			if err != nil {
				b.Fatal(err)
			}
			if _, vd, err = accounts.Authenticate(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	}
	crit := &critical.Service{Repo: st, Residents: residents, Orgs: orgs, Staff: st, Audit: rec, Config: critical.DefaultConfig(), Now: clk.Now}
	people, _, _ := residents.Search(ctx, vd, "", resident.Filter{Limit: 1})
	src := int64(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for k := 0; k < 500; k++ {
			src++
			if _, err := crit.Raise(ctx, vd, critical.Alert{SourceKind: critical.SourceLab, SourceID: src, ResidentID: people[0].ID,
				ClinicID: vd.InstitutionID, Finding: "K⁺ ≥ 6.5 mmol/L", Value: "6.8 mmol/L"}); err != nil {
				b.Fatal(err)
			}
		}
		clk.Add(16 * time.Minute)
		b.StartTimer()
		n, err := crit.EscalateDue(ctx)
		if err != nil || n != 500 {
			b.Fatalf("escalated %d, %v", n, err)
		}
		b.StopTimer()
		clk.Add(20 * time.Minute)
		if _, err := crit.EscalateDue(ctx); err != nil { // to the county: out of the next pass
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
