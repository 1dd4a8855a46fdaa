package store_test

import (
	"context"
	"testing"
	"time"

	"countycare/account"
	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/pharmacy"
	"countycare/resident"
	"countycare/rx"
	"countycare/settle"
)

// BenchmarkDispenseFromStock measures one dispensing end to end on a real
// database: the scoped read of the prescription and the resident, FEFO
// over the clinic's lots, the settlement (its own transaction) and the
// dispensing transaction (prescription, lots, ledger, fulfilment, audit).
// Prescriptions are signed with the timer stopped.
func BenchmarkDispenseFromStock(b *testing.B) {
	for _, d := range testdb.Dialects {
		b.Run(string(d), func(b *testing.B) {
			clk := &clock{t: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}
			st := testdb.Open(b, d, clk.Now)
			ctx := context.Background()
			res, err := demo.Generate(ctx, st, demo.Config{Residents: 2000, Villages: 10, VillageDoctors: 20, Now: clk.Now()}, quiet)
			if err != nil {
				b.Fatal(err)
			}
			orgs := &org.Service{Repo: st, Now: clk.Now}
			rs := &resident.Service{Repo: st, Orgs: orgs, Audit: syncRecorder{st, b}, Now: clk.Now}
			accts := &account.Service{Repo: st, Config: account.DefaultConfig(), Now: clk.Now, Orgs: orgs}
			actors := map[care.Role]care.Actor{}
			for _, l := range res.Logins {
				tok, _, err := accts.Login(ctx, account.Credentials{Username: l.Username, Password: l.Password})
				if err != nil {
					b.Fatal(err)
				}
				_, a, _ := accts.Authenticate(ctx, tok)
				actors[l.Role] = a
			}
			ss := &settle.Service{Repo: st, Residents: rs, Orgs: orgs, Audit: syncRecorder{st, b}, Now: clk.Now}
			pol, _ := settle.ExampleFile("985-2026.json")
			if _, err := ss.UploadPolicy(ctx, actors[care.RoleInsuranceOfficer], pol); err != nil {
				b.Fatal(err)
			}
			eng, _ := rx.NewEngine()
			rxs := &rx.Service{Repo: st, Engine: eng, Residents: rs, Orgs: orgs, Audit: syncRecorder{st, b}, Now: clk.Now}
			prices, _ := pharmacy.ExamplePrices(eng.KB)
			svc := &pharmacy.Service{Repo: st, Rx: rxs, KB: eng.KB, Config: eng.Config, Prices: prices, Orgs: orgs, Residents: rs,
				Payer: pharmacy.SettlePayer{Settle: ss}, Audit: syncRecorder{st, b}, Now: clk.Now}
			vd := actors[care.RoleVillageDoctor]
			people, _, _ := rs.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1970, Month: 1, Day: 1}, Limit: 50})
			for k := 0; k <= b.N*7/pharmacy.MaxOrderUnits; k++ {
				if _, err := svc.MoveStock(ctx, vd, pharmacy.StockInput{Kind: pharmacy.MoveReceipt, DrugCode: "amlodipine-5t", Batch: "B" + itoaTest(k),
					Expiry: care.Today(clk.Now()).AddDays(100 + k), Delta: pharmacy.MaxOrderUnits}); err != nil {
					b.Fatal(err)
				}
			}
			ids := make([]int64, b.N)
			for i := range ids {
				sg, _, err := rxs.Sign(ctx, vd, people[i%len(people)].ID, rxDraft(amlodipine7))
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = sg.ID
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := svc.Dispense(ctx, vd, ids[i], pharmacy.DispenseInput{Mode: pharmacy.ModePickup, Insured: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoaTest(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
