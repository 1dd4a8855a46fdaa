package store_test

import (
	"context"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/pharmacy"
	"countycare/resident"
	"countycare/rx"
	"countycare/store"
)

func rxService(t *testing.T, f *fixture) *rx.Service {
	e, err := rx.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	return &rx.Service{Repo: f.st, Engine: e, Residents: f.res, Orgs: f.orgs, Audit: syncRecorder{f.st, t}, Now: f.clk.Now}
}

func rxDraft(lines ...rx.Line) *rx.Prescription {
	return &rx.Prescription{Kind: rx.KindNormal, Diagnoses: []string{"I10"}, Patient: rx.Patient{WeightKg: 60}, Lines: lines}
}

var amlodipine7 = rx.Line{DrugCode: "amlodipine-5t", Dose: 5, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7}

// TestPrescriptionReview: a village doctor signs prescriptions; a clean one
// passes, a flagged one waits in the county pharmacists' queue, a blocked
// one is not stored; the pharmacist returns or approves with the review
// time recorded; only a reviewed prescription is dispensed (through the
// pharmacy, the one dispensing path: stock and payment); every read and
// write of the patient's prescription is audited.
func TestPrescriptionReview(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		pf := newPharmacyFixture(t, d)
		f, svc := pf.fixture, pf.rx
		ctx := context.Background()
		vd, ph := f.actors[care.RoleVillageDoctor], f.actors[care.RolePharmacist]
		for _, drug := range []string{"amlodipine-5t", "enalapril-10t", "losartan-50t"} {
			pf.receive(t, vd, drug, "B1", "2027-10-31", 50)
		}
		dispense := func(a care.Actor, id int64) error {
			_, err := pf.svc.Dispense(ctx, a, id, pharmacy.DispenseInput{Mode: pharmacy.ModePickup, Insured: true})
			return err
		}
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1970, Month: 1, Day: 1}, Limit: 2})
		if len(people) == 0 {
			t.Fatal("no adult in the demo village")
		}
		pid := people[0].ID

		clean, fs, err := svc.Sign(ctx, vd, pid, rxDraft(amlodipine7))
		if err != nil || clean.Status != rx.StatusPassed || clean.ID == 0 || len(fs) != 0 {
			t.Fatalf("clean: %+v %v %v", clean, fs, err)
		}
		if clean.Prescription.InstitutionLevel != "village" || clean.Prescription.Patient.AgeMonths < 56*12 {
			t.Errorf("level %q, age %d months: taken from the record", clean.Prescription.InstitutionLevel, clean.Prescription.Patient.AgeMonths)
		}
		// ACE inhibitor with an ARB: a pharmacist must look.
		flagged, _, err := svc.Sign(ctx, vd, pid, rxDraft(amlodipine7,
			rx.Line{DrugCode: "enalapril-10t", Dose: 10, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 7},
			rx.Line{DrugCode: "losartan-50t", Dose: 50, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 7}))
		if err != nil || flagged.Status != rx.StatusPending {
			t.Fatalf("flagged: %+v %v", flagged, err)
		}
		// 14 days on a normal prescription blocks: nothing stored.
		long := amlodipine7
		long.Days, long.Quantity = 14, 14
		if _, fs, err := svc.Sign(ctx, vd, pid, rxDraft(long)); care.ErrorCode(err) != care.EINVALID || len(fs) == 0 {
			t.Errorf("blocked: %v %v", fs, err)
		}
		if _, _, err := svc.Sign(ctx, ph, pid, rxDraft(amlodipine7)); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("pharmacist signing: %v", err)
		}

		// Not reviewed: nothing dispensed.
		if err := dispense(ph, flagged.ID); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("dispense pending: %v", err)
		}
		q, err := svc.Queue(ctx, ph)
		if err != nil || len(q) != 1 || q[0].ID != flagged.ID || len(q[0].Findings) == 0 {
			t.Fatalf("queue: %+v %v", q, err)
		}
		if _, err := svc.Queue(ctx, vd); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("queue as a doctor: %v", err)
		}
		if _, err := svc.Decide(ctx, ph, flagged.ID, rx.StatusReturned, " ", q[0].Version); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("return without a reason: %v", err)
		}
		if _, err := svc.Decide(ctx, ph, flagged.ID, rx.StatusApproved, "", q[0].Version+1); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("stale version: %v", err)
		}
		f.clk.Add(7 * time.Minute)
		ok, err := svc.Decide(ctx, ph, flagged.ID, rx.StatusApproved, "", q[0].Version)
		if err != nil || ok.Status != rx.StatusApproved || ok.ReviewTime() != 7*time.Minute {
			t.Fatalf("approve: %+v %v", ok, err)
		}
		if _, err := svc.Decide(ctx, ph, flagged.ID, rx.StatusRejected, "重复", ok.Version); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("decide twice: %v", err)
		}
		got, err := svc.Get(ctx, ph, flagged.ID)
		if err != nil || got.Status != rx.StatusApproved || got.ReviewerID != ph.AccountID || got.ReviewedAt.IsZero() || len(got.Prescription.Lines) != 3 {
			t.Fatalf("read back: %+v %v", got, err)
		}
		for _, id := range []int64{flagged.ID, clean.ID} {
			if err := dispense(vd, id); err != nil {
				t.Errorf("dispense %d: %v", id, err)
			}
			if s, err := svc.Get(ctx, vd, id); err != nil || s.Status != rx.StatusDispensed {
				t.Errorf("dispensed %d: %+v %v", id, s, err)
			}
			if err := dispense(vd, id); care.ErrorCode(err) != care.ECONFLICT {
				t.Errorf("dispense %d twice: %v", id, err)
			}
		}
		// A returned prescription is never dispensed.
		again, _, _ := svc.Sign(ctx, vd, pid, rxDraft(amlodipine7,
			rx.Line{DrugCode: "enalapril-10t", Dose: 10, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 7},
			rx.Line{DrugCode: "losartan-50t", Dose: 50, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 7}))
		if _, err := svc.Decide(ctx, ph, again.ID, rx.StatusReturned, "ACEI与ARB不宜联用，请调整", again.Version); err != nil {
			t.Fatal(err)
		}
		if err := dispense(ph, again.ID); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("dispense returned: %v", err)
		}

		today := care.Today(f.clk.Now())
		in, err := svc.Indicators(ctx, ph, today.AddDays(-1), today)
		if err != nil || in.Signed != 3 || in.Flagged != 2 || in.Decided != 2 || in.MedianReview < 0 || in.ByStatus[rx.StatusDispensed] != 2 {
			t.Errorf("indicators: %+v %v", in, err)
		}
		if _, err := svc.Indicators(ctx, vd, today, today); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("indicators as a doctor: %v", err)
		}

		evs, err := f.st.SearchAudit(ctx, audit.Filter{ResidentIDs: []int64{pid}, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, e := range evs {
			seen[e.Action]++
		}
		for _, act := range []string{rx.ActSign, rx.ActRead, rx.ActDecide, rx.ActDispense} {
			if seen[act] == 0 {
				t.Errorf("no %s audit row: %v", act, seen)
			}
		}
	})
}

// TestDemoPrescriptions: the demo writes reviewed prescriptions in bulk on
// both dialects; they read back, and a prescription signed afterwards gets
// the next ID (PostgreSQL's identity sequence advanced).
func TestDemoPrescriptions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		st := testdb.Open(t, d, time.Now)
		ctx := context.Background()
		res, err := demo.Generate(ctx, st, demo.Config{Residents: 800, Villages: 4, VillageDoctors: 8, Prescriptions: 400}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if res.Prescriptions != 400 {
			t.Fatalf("%d prescriptions, want 400", res.Prescriptions)
		}
		for _, id := range []int64{1, 200, 400} {
			p, err := st.Prescription(ctx, id)
			if err != nil || len(p.Prescription.Lines) == 0 || p.SignedAt.IsZero() || p.Status == "" {
				t.Fatalf("prescription %d: %+v %v", id, p, err)
			}
			if p.Status == rx.StatusApproved || p.Status == rx.StatusRejected || p.Status == rx.StatusReturned {
				if p.ReviewTime() <= 0 {
					t.Errorf("prescription %d: reviewed without a review time", id)
				}
			}
		}
		next := &rx.Signed{CountyCode: "411723", ResidentID: 1, InstitutionID: 1, AccountID: 1, Status: rx.StatusPassed, SignedAt: time.Now(),
			Prescription: rx.Prescription{Kind: rx.KindNormal, Issued: care.Today(time.Now())}}
		if err := st.SavePrescription(ctx, next, audit.Event{Action: "test", Outcome: audit.OutcomeOK}); err != nil || next.ID != 401 {
			t.Errorf("next prescription: id %d, %v", next.ID, err)
		}
	})
}
