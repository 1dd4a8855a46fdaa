package store_test

import (
	"context"
	"testing"
	"time"

	"countycare/care"
	"countycare/internal/testdb"
	"countycare/kpi"
	"countycare/resident"
	"countycare/rx"
	"countycare/store"
)

// TestPrescriptionSums: the dashboard's prescribing group reads, per
// prescribing institution, the prescriptions signed in the period by their
// review outcome and their monitoring classes as signed (migration 0051);
// a prescription signed before 0051 (rx_classes NULL) counts in no rate
// until ClassifyPrescriptions gives it its classes by the formulary, once.
func TestPrescriptionSums(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		svc := rxService(t, f)
		ctx := context.Background()
		vd, ph := f.actors[care.RoleVillageDoctor], f.actors[care.RolePharmacist]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1970, Month: 1, Day: 1}, Limit: 1})
		if len(people) == 0 {
			t.Fatal("no adult in the demo village")
		}
		pid := people[0].ID
		sign := func(p *rx.Prescription) *rx.Signed {
			t.Helper()
			sg, fs, err := svc.Sign(ctx, vd, pid, p)
			if err != nil {
				t.Fatalf("sign %v: %v %v", p.Lines, fs, err)
			}
			return sg
		}
		clean := sign(rxDraft(amlodipine7))
		amox := &rx.Prescription{Kind: rx.KindNormal, Diagnoses: []string{"J20"}, Patient: rx.Patient{WeightKg: 60},
			Lines: []rx.Line{{DrugCode: "amoxicillin-250c", Dose: 500, DoseUnit: "mg", Frequency: "tid", Route: "po", Days: 5, Quantity: 30}}}
		anti := sign(amox)
		insulin := &rx.Prescription{Kind: rx.KindNormal, Diagnoses: []string{"E11"}, Patient: rx.Patient{WeightKg: 60},
			Lines: []rx.Line{{DrugCode: "insulin-regular-400iu", Dose: 20, DoseUnit: "IU", Frequency: "tid", Route: "sc", Days: 6, Quantity: 1}}}
		inj := sign(insulin)
		if clean.Classes != 0 || anti.Classes != rx.WithAntimicrobial || inj.Classes != rx.WithInjection {
			t.Fatalf("classes as signed: %v %v %v", clean.Classes, anti.Classes, inj.Classes)
		}
		// ACE inhibitor with an ARB: a pharmacist returns it.
		flagged := sign(rxDraft(amlodipine7,
			rx.Line{DrugCode: "enalapril-10t", Dose: 10, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 7},
			rx.Line{DrugCode: "losartan-50t", Dose: 50, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 7}))
		if flagged.Status != rx.StatusPending {
			t.Fatalf("flagged: %s", flagged.Status)
		}
		sign(rxDraft(amlodipine7,
			rx.Line{DrugCode: "enalapril-10t", Dose: 10, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 7},
			rx.Line{DrugCode: "losartan-50t", Dose: 50, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 7}))
		f.clk.t = f.clk.t.Add(20 * time.Minute)
		if _, err := svc.Decide(ctx, ph, flagged.ID, rx.StatusReturned, "ACEI + ARB", flagged.Version); err != nil {
			t.Fatal(err)
		}
		from, to := f.clk.Now().Add(-24*time.Hour), f.clk.Now().Add(time.Hour)
		sums, err := f.st.PrescriptionSums(ctx, vd.CountyCode, from, to)
		if err != nil {
			t.Fatal(err)
		}
		want := kpi.RxCounts{Signed: 5, Decided: 4, Passed: 3, Returned: 1, Classified: 5, Antimicrobial: 1, Injection: 1}
		if got := sums[vd.InstitutionID]; got != want || len(sums) != 1 {
			t.Fatalf("sums %+v, want {%d: %+v}", sums, vd.InstitutionID, want)
		}
		if other, _ := f.st.PrescriptionSums(ctx, vd.CountyCode, to, to.Add(time.Hour)); len(other) != 0 {
			t.Errorf("another period: %+v", other)
		}

		// Rows signed before migration 0051: no classes, in no rate.
		if err := f.st.ExecForTest(ctx, `UPDATE prescriptions SET rx_classes = NULL`); err != nil {
			t.Fatal(err)
		}
		sums, _ = f.st.PrescriptionSums(ctx, vd.CountyCode, from, to)
		if got := sums[vd.InstitutionID]; got.Classified != 0 || got.Antimicrobial != 0 || got.Signed != 5 || got.Decided != 4 {
			t.Fatalf("unclassified: %+v", got)
		}
		n, err := f.st.ClassifyPrescriptions(ctx, svc.Engine.KB.Classify)
		if err != nil || n != 5 {
			t.Fatalf("classified %d, %v; want 5", n, err)
		}
		sums, _ = f.st.PrescriptionSums(ctx, vd.CountyCode, from, to)
		if got := sums[vd.InstitutionID]; got != want {
			t.Fatalf("after the backfill %+v, want %+v", got, want)
		}
		if n, err := f.st.ClassifyPrescriptions(ctx, svc.Engine.KB.Classify); err != nil || n != 0 {
			t.Errorf("second backfill: %d %v; want nothing to do", n, err)
		}
	})
}
