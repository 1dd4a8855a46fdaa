package store_test

import (
	"context"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/online"
	"countycare/rx"
	"countycare/store"
)

// BenchmarkOnlineBookingCheck measures the prior-diagnosis check of an
// online booking: reading the resident's offline documents
// (store.PriorDiagnoses: chronic registry, discharges, consultation
// opinions, prescriptions) and matching the ICD-10 category. The resident
// holds 20 offline prescriptions. go test ./store -run '^$' -bench OnlineBookingCheck
func BenchmarkOnlineBookingCheck(b *testing.B) {
	for _, d := range testdb.Dialects {
		b.Run(string(d), func(b *testing.B) {
			benchBookingCheck(b, d)
		})
	}
}

func benchBookingCheck(b *testing.B, d store.Dialect) {
	ctx := context.Background()
	st := testdb.Open(b, d, time.Now)
	res, err := demo.Generate(ctx, st, demo.Config{Residents: 2000, Villages: 20, VillageDoctors: 40}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	var rid int64
	var county string
	for _, l := range res.Logins {
		if l.Role == care.RoleResident {
			acc, err := st.AccountByUsername(ctx, l.Username)
			if err != nil {
				b.Fatal(err)
			}
			rid = acc.ResidentID
		}
	}
	r, err := st.Resident(ctx, rid)
	if err != nil {
		b.Fatal(err)
	}
	county = r.CountyCode
	for i := 0; i < 20; i++ {
		sg := &rx.Signed{CountyCode: county, ResidentID: rid, InstitutionID: r.VillageID, AccountID: 1, Status: rx.StatusPassed, SignedAt: time.Now(),
			Prescription: rx.Prescription{Kind: rx.KindNormal, Issued: care.Today(time.Now()), Diagnoses: []string{"K29.7", "I10"},
				Lines: []rx.Line{{DrugCode: "omeprazole-20c", Dose: 20, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7}}}}
		if err := st.SavePrescription(ctx, sg, audit.Event{Action: rx.ActSign, ResidentID: rid, CountyCode: county, Outcome: audit.OutcomeOK}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		docs, err := st.PriorDiagnoses(ctx, county, rid)
		if err != nil {
			b.Fatal(err)
		}
		if online.FindPriorDiagnosis("K29.5", docs) == nil {
			b.Fatal("no prior document")
		}
	}
}
