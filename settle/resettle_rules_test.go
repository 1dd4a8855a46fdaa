package settle

// Tests of Resettler (README "countycare resettle --year Y [--apply]
// re-settles a year from the stored bills"; resettle.go: each resident's
// accumulators start from zero and follow their visits in order, exactly
// as the window did), added for mutation testing (issue 18 §6).

import (
	"testing"
	"time"
)

func TestResettlerFollowsEachResidentsYear(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	sp := &StoredPolicy{ID: 3, Year: 2026, Version: 2, Policy: p}
	// Stored as the window settled them: two county admissions of 10,600
	// for resident 1 (the second starts from the first's accumulators) and
	// one for resident 2.
	mk := func(res int64, visit string, acc Accumulators) (*Settlement, Accumulators) {
		c := Claim{VisitID: visit, Date: "2026-05-10", VisitType: Inpatient, Level: County, Insured: true, Lines: bill("10600")}
		r, err := Settle(p, &c, &acc)
		if err != nil {
			t.Fatal(err)
		}
		return &Settlement{ResidentID: res, Claim: c, Result: *r}, acc.Add(r.Delta, 1)
	}
	a1, acc1 := mk(1, "a1", Accumulators{})
	a2, acc1 := mk(1, "a2", acc1)
	b1, acc2 := mk(2, "b1", Accumulators{})
	b1.Result.Patient -= 100 // as if settled under an older policy: 1.00 yuan less for the patient
	b1.Result.Layers[0].Paid += 100

	var befores []Accumulators
	yearEnd := map[int64]Accumulators{}
	rs := NewResettler(sp)
	rs.OnVisit = func(st *Settlement, r *Result, before Accumulators) error {
		befores = append(befores, before)
		return nil
	}
	rs.OnResident = func(id int64, acc Accumulators) error { yearEnd[id] = acc; return nil }
	for _, st := range []*Settlement{a1, a2, b1} {
		if err := rs.Add(st); err != nil {
			t.Fatal(err)
		}
	}
	if err := rs.Finish(); err != nil {
		t.Fatal(err)
	}
	s := rs.Summary
	if s.Year != 2026 || s.PolicyID != 3 || s.Version != 2 || s.Visits != 3 || s.Residents != 2 || s.Changed != 1 {
		t.Errorf("summary %+v, want 3 visits of 2 residents, 1 changed", s)
	}
	if !befores[0].Equal(Accumulators{}) || befores[1].Equal(Accumulators{}) || !befores[2].Equal(Accumulators{}) {
		t.Errorf("accumulators before each visit: %+v (each resident starts from zero; the second visit follows the first)", befores)
	}
	if !yearEnd[1].Equal(acc1) || !yearEnd[2].Equal(acc2) {
		t.Errorf("year-end accumulators %+v, want %+v and %+v", yearEnd, acc1, acc2)
	}
	if s.After["patient"]-s.Before["patient"] != 100 || s.Before[LayerBasic]-s.After[LayerBasic] != 100 {
		t.Errorf("before/after sums: patient %s → %s, basic %s → %s", s.Before["patient"], s.After["patient"], s.Before[LayerBasic], s.After[LayerBasic])
	}
	// A bad stored claim stops the run with its error.
	bad := *a1
	bad.Claim.Level = "moon"
	if err := NewResettler(sp).Add(&bad); err == nil {
		t.Error("a claim the policy refuses was re-settled")
	}
}

// TestReportOrderAndProjection pins the report rows' order (Reconcile: by
// institution; Budget: by community) and Budget's linear projection
// (spent × days in the year / days elapsed, day 1 counting as elapsed).
func TestReportOrderAndProjection(t *testing.T) {
	rows := []Totals{
		{Month: "2026-05", InstitutionID: 30, Count: 1, Total: 1000, Basic: 600, Patient: 400},
		{Month: "2026-05", InstitutionID: 10, Count: 2, Total: 500, Basic: 200, Critical: 100, Patient: 200},
		{Month: "2026-05", InstitutionID: 20, Count: 1, Total: 100, Patient: 100},
		{Month: "2026-06", InstitutionID: 5, Count: 1, Total: 100, Patient: 100},
	}
	rec := Reconcile(rows, "2026-05")
	if len(rec) != 3 || rec[0].InstitutionID != 10 || rec[1].InstitutionID != 20 || rec[2].InstitutionID != 30 {
		t.Fatalf("reconciliation order %+v", rec)
	}
	if rec[0].Advanced != 300 || rec[0].Visits != 2 || rec[0].ByFund[LayerCritical] != 100 {
		t.Errorf("institution 10: %+v", rec[0])
	}
	day := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC) // first day: 1 of 365 elapsed
	b := Budget(map[int64]Fen{7: 365000, 3: 1000}, map[int64]Fen{7: 1000, 9: 10}, 2026, day)
	if len(b) != 3 || b[0].CommunityID != 3 || b[1].CommunityID != 7 || b[2].CommunityID != 9 {
		t.Fatalf("budget order %+v", b)
	}
	if b[1].Projected != 365000 || b[1].Surplus != 0 || b[2].Surplus != -3650 {
		t.Errorf("projection %+v", b)
	}
	end := Budget(map[int64]Fen{7: 1}, map[int64]Fen{7: 1000}, 2026, time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	if end[0].Projected != 1000 {
		t.Errorf("after the year's end the projection is what was spent: %+v", end[0])
	}
}

// TestNoDepositRule pins NoDepositEligible (seed 002, policy-rules.md §5:
// treat first, pay later — no deposit for residents in a poverty category
// admitted in their own county), with the reason either way.
func TestNoDepositRule(t *testing.T) {
	for _, tt := range []struct {
		poverty  string
		inCounty bool
		ok       bool
		reason   string
	}{
		{"subsistence", true, true, "settle.no_deposit.eligible"},
		{"monitored", true, true, "settle.no_deposit.eligible"},
		{"subsistence", false, false, "settle.no_deposit.out_of_county"},
		{"", true, false, "settle.no_deposit.not_poor"},
		{"", false, false, "settle.no_deposit.not_poor"},
	} {
		ok, reason := NoDepositEligible(tt.poverty, tt.inCounty)
		if ok != tt.ok || reason != tt.reason {
			t.Errorf("%q in county %v: %v %s, want %v %s", tt.poverty, tt.inCounty, ok, reason, tt.ok, tt.reason)
		}
	}
}
