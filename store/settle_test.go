package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/resident"
	"countycare/settle"
	"countycare/store"

	"pgregory.net/rapid"
)

func settleFixture(t *testing.T, d store.Dialect) (*fixture, *settle.Service, *settle.StoredPolicy) {
	f := newFixture(t, d)
	svc := &settle.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Audit: syncRecorder{f.st, t}, Now: f.clk.Now}
	body, _ := settle.ExampleFile("985-2026.json")
	sp, err := svc.UploadPolicy(context.Background(), f.actors[care.RoleInsuranceOfficer], body)
	if err != nil {
		t.Fatal(err)
	}
	return f, svc, sp
}

// TestSettlementMatchesLedger runs the same random settlements, retries,
// corrections and reversals through the database and through the
// in-memory reference ledger; results and accumulators must agree to the fen.
func TestSettlementMatchesLedger(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f, svc, sp := settleFixture(t, d)
		ctx := context.Background()
		io := f.actors[care.RoleInsuranceOfficer]
		tree, _ := f.orgs.Tree(ctx)
		hosp := tree.OfKind(0, org.KindCountyHospital)[0]
		// Three residents, one poor.
		pts, _, _ := f.res.Search(ctx, io, "", resident.Filter{Limit: 3})
		if len(pts) < 3 {
			t.Fatal("no residents")
		}
		poor := pts[0]
		poor.Poverty = resident.PovertySubsistence
		if err := f.st.UpdateResident(ctx, &poor, audit.Event{Action: "test.setup", Outcome: audit.OutcomeOK}); err != nil {
			t.Fatal(err)
		}
		ledger := settle.NewLedger(sp.Policy)
		rng := rand.New(rand.NewPCG(1, 2))
		type done struct {
			id  int64
			key string
			pt  int64
		}
		var live []done
		for i := 0; i < 40; i++ {
			pt := pts[rng.IntN(3)]
			r, _ := f.st.Resident(ctx, pt.ID)
			in := settle.Input{ResidentID: pt.ID, InstitutionID: hosp.ID, VisitID: fmt.Sprintf("V%03d", i), Date: fmt.Sprintf("2026-%02d-10", 1+i%12),
				VisitType: []string{settle.Inpatient, settle.Outpatient, settle.Chronic}[rng.IntN(3)], Insured: true}
			if in.VisitType == settle.Chronic {
				in.ChronicCategory = "HT"
			}
			for j := 0; j < 1+rng.IntN(5); j++ {
				in.Lines = append(in.Lines, settle.Line{Code: fmt.Sprint(j), Class: "drug", Category: []string{"A", "B", "C"}[rng.IntN(3)], Amount: settle.Fen(rng.Int64N(5_000_000))})
			}
			key := fmt.Sprintf("key-%d", i)
			st, replay, err := svc.Settle(ctx, io, in, key, 0)
			if err != nil || replay {
				t.Fatalf("settle %d: %v %v", i, replay, err)
			}
			c := st.Claim
			want, _, err := ledger.Settle(key, fmt.Sprint(pt.ID), &c)
			if err != nil {
				t.Fatal(err)
			}
			if st.Result.Insurers != want.Insurers || st.Result.Patient != want.Patient {
				t.Fatalf("visit %d: database paid %s/%s, ledger %s/%s (poverty %q)", i, st.Result.Insurers, st.Result.Patient, want.Insurers, want.Patient, r.Poverty)
			}
			// A retry replays; the same key with another bill is refused.
			again, replay, err := svc.Settle(ctx, io, in, key, 0)
			if err != nil || !replay || again.ID != st.ID {
				t.Fatalf("retry: %v %v", replay, err)
			}
			in2 := in
			in2.Lines = append([]settle.Line{{Code: "x", Category: "A", Amount: 1}}, in.Lines...)
			if _, _, err := svc.Settle(ctx, io, in2, key, 0); care.ErrorCode(err) != care.ECONFLICT {
				t.Fatalf("key reuse: %v", err)
			}
			// The same visit under a new key cannot be paid twice.
			if _, _, err := svc.Settle(ctx, io, in, key+"-again", 0); care.ErrorCode(err) != care.ECONFLICT {
				t.Fatalf("second settlement of one visit: %v", err)
			}
			live = append(live, done{st.ID, key, pt.ID})
			if rng.IntN(4) == 0 { // correct one: a new bill for its visit, perhaps of another month
				k := rng.IntN(len(live))
				x := live[k]
				old, err := f.st.Settlement(ctx, x.id)
				if err != nil {
					t.Fatal(err)
				}
				in := settle.Input{ResidentID: x.pt, InstitutionID: hosp.ID, VisitID: old.VisitID, Date: fmt.Sprintf("2026-%02d-%02d", 1+rng.IntN(12), 1+rng.IntN(28)),
					VisitType: settle.Inpatient, Insured: true,
					Lines: []settle.Line{{Code: "c", Class: "drug", Category: "A", Amount: settle.Fen(1 + rng.Int64N(5_000_000))}}}
				nkey := fmt.Sprintf("fix-%d", i)
				st, _, err := svc.Settle(ctx, io, in, nkey, x.id)
				if err != nil {
					t.Fatalf("correct: %v", err)
				}
				c := st.Claim
				want, err := ledger.Correct(x.key, nkey, &c)
				if err != nil {
					t.Fatal(err)
				}
				if st.Result.Insurers != want.Insurers || st.Result.Patient != want.Patient {
					t.Fatalf("correction %d: database paid %s/%s, ledger %s/%s", i, st.Result.Insurers, st.Result.Patient, want.Insurers, want.Patient)
				}
				live[k] = done{st.ID, nkey, x.pt}
			}
			if rng.IntN(4) == 0 { // reverse one
				k := rng.IntN(len(live))
				x := live[k]
				if _, err := svc.Reverse(ctx, io, x.id, "录入错误"); err != nil {
					t.Fatalf("reverse: %v", err)
				}
				if _, err := svc.Reverse(ctx, io, x.id, "again"); care.ErrorCode(err) != care.ECONFLICT {
					t.Fatalf("second reversal: %v", err)
				}
				if err := ledger.Reverse(x.key); err != nil {
					t.Fatal(err)
				}
				live = append(live[:k], live[k+1:]...)
			}
		}
		for _, pt := range pts[:3] {
			got, err := f.st.SettleAccumulators(ctx, pt.CountyCode, pt.ID, 2026)
			if err != nil {
				t.Fatal(err)
			}
			if want := ledger.Accumulators(fmt.Sprint(pt.ID)); !got.Equal(want) {
				t.Errorf("resident %d: database accumulators %+v, ledger %+v", pt.ID, got, want)
			}
		}
		// Every live settlement as stored now is the ledger's (later bills were settled again).
		for _, x := range live {
			st, err := f.st.Settlement(ctx, x.id)
			if err != nil {
				t.Fatal(err)
			}
			if want := ledger.Entry(x.key).Result; !settle.SameSplit(&st.Result, want) {
				t.Errorf("settlement %d: stored %v, ledger %v", x.id, settle.Amounts(&st.Result), settle.Amounts(want))
			}
		}
		checkResettleUnchanged(t, f.st, pts[0].CountyCode, 2026, sp)
	})
}

// checkResettleUnchanged runs `countycare resettle --year`'s pass (the
// live bills of the year in date order from zero, store.EachLiveBill into
// settle.Resettler) and fails unless it finds the stored books exactly:
// no visit changed, the same total per payer layer and patient, and every
// resident's year-end accumulators as stored (issue 18).
func checkResettleUnchanged(t failer, st *store.Store, county string, year int, sp *settle.StoredPolicy) {
	t.Helper()
	checkResettleOf(t, st, county, year, sp, 0)
}

// checkResettleOf is checkResettleUnchanged for one resident (0: all).
// failer is what the check needs of *testing.T and *rapid.T.
type failer interface {
	Helper()
	Fatal(...any)
	Errorf(string, ...any)
}

func checkResettleOf(t failer, st *store.Store, county string, year int, sp *settle.StoredPolicy, residentID int64) {
	t.Helper()
	ctx := context.Background()
	rs := settle.NewResettler(sp)
	var faults []string
	rs.OnVisit = func(s *settle.Settlement, r *settle.Result, _ settle.Accumulators) error {
		if !settle.SameSplit(&s.Result, r) {
			faults = append(faults, fmt.Sprintf("settlement %d: stored %v, resettle %v", s.ID, settle.Amounts(&s.Result), settle.Amounts(r)))
		}
		return nil
	}
	rs.OnResident = func(id int64, acc settle.Accumulators) error {
		got, err := st.SettleAccumulators(ctx, county, id, year)
		if err != nil {
			return err
		}
		if !got.Equal(acc) {
			faults = append(faults, fmt.Sprintf("resident %d: stored accumulators %+v, resettle %+v", id, got, acc))
		}
		return nil
	}
	add := rs.Add
	if residentID != 0 {
		add = func(s *settle.Settlement) error {
			if s.ResidentID != residentID {
				return nil
			}
			return rs.Add(s)
		}
	}
	if err := st.EachLiveBill(ctx, county, year, add); err != nil {
		t.Fatal(err)
	}
	if err := rs.Finish(); err != nil {
		t.Fatal(err)
	}
	if rs.Summary.Visits == 0 && residentID == 0 {
		t.Fatal("resettle found no visits")
	}
	for _, l := range append(append([]string{}, settle.LayerOrder...), "patient") {
		if rs.Summary.Before[l] != rs.Summary.After[l] {
			faults = append(faults, fmt.Sprintf("%s: books %s, resettle %s", l, rs.Summary.Before[l], rs.Summary.After[l]))
		}
	}
	if rs.Summary.Changed != 0 || len(faults) > 0 {
		t.Errorf("resettle changes %d visits: %v", rs.Summary.Changed, faults)
	}
}

// TestCorrectionResettlesLaterVisits is issue 18's case: an earlier
// admission corrected after a later one was settled. Policy 985-2026.json
// (the example's critical illness, policy-rules.md §5: ordinary deductible
// 6,269 yuan a year, 55 % on the first 50,000 above it), county hospital
// inpatient (basic: 600 deductible, 70 %), 甲类 items.
//
//	A 2026-03-01, 20,000: basic (20,000 − 600) × 70 % = 13,580; 6,420 left,
//	  151 above the deductible × 55 % = 83.05 critical.
//	B 2026-06-01, 20,000: basic 13,580; 6,420 left, all above: 3,531.00.
//	A corrected to 10,000: basic 6,580; 3,420 left, under the deductible: 0.
//	B in date order after it: 3,420 + 6,420 − 6,269 = 3,571 above × 55 % =
//	  1,964.05 (B's critical payment falls by 1,566.95, the patient's share rises as much).
//
// The old code charged A's 3,420 as the next slice on top of B (1,881.00)
// and left B at 3,531.00: 5,412.00 paid for 1,964.05 due.
func TestCorrectionResettlesLaterVisits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f, svc, sp := settleFixture(t, d)
		ctx := context.Background()
		io := f.actors[care.RoleInsuranceOfficer]
		tree, _ := f.orgs.Tree(ctx)
		hosp := tree.OfKind(0, org.KindCountyHospital)[0]
		pts, _, _ := f.res.Search(ctx, io, "", resident.Filter{Limit: 1})
		pt := pts[0]
		if pt.Poverty != "" {
			t.Fatalf("fixture resident is poor (%s): the case is the ordinary tier", pt.Poverty)
		}
		bill := func(visit, date, yuan string) settle.Input {
			a, _ := settle.ParseYuan(yuan)
			return settle.Input{ResidentID: pt.ID, InstitutionID: hosp.ID, VisitID: visit, Date: date, VisitType: settle.Inpatient, Insured: true,
				Lines: []settle.Line{{Code: "x", Class: "treatment", Category: "A", Amount: a}}}
		}
		y := func(s string) settle.Fen { v, _ := settle.ParseYuan(s); return v }
		a, _, err := svc.Settle(ctx, io, bill("A", "2026-03-01", "20000"), "a", 0)
		if err != nil || a.Result.Paid(settle.LayerCritical) != y("83.05") {
			t.Fatalf("A: %v %v", a.Result.Paid(settle.LayerCritical), err)
		}
		b, _, err := svc.Settle(ctx, io, bill("B", "2026-06-01", "20000"), "b", 0)
		if err != nil || b.Result.Paid(settle.LayerCritical) != y("3531") {
			t.Fatalf("B: %v %v", b.Result.Paid(settle.LayerCritical), err)
		}
		a2, _, err := svc.Settle(ctx, io, bill("A", "2026-03-01", "10000"), "a2", a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := a2.Result.Paid(settle.LayerCritical); got != 0 {
			t.Errorf("corrected A: critical %s, want 0 (under the deductible)", got)
		}
		b2, err := f.st.Settlement(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := b2.Result.Paid(settle.LayerCritical); got != y("1964.05") {
			t.Errorf("B after the correction: critical %s, want 1964.05", got)
		}
		if b2.Result.Patient != b.Result.Patient+y("1566.95") {
			t.Errorf("B's patient share %s, want %s + 1566.95", b2.Result.Patient, b.Result.Patient)
		}
		acc, _ := f.st.SettleAccumulators(ctx, pt.CountyCode, pt.ID, 2026)
		if acc.CriticalPaid != y("1964.05") || acc.CriticalBase != y("9840") {
			t.Errorf("year: critical paid %s base %s, want 1964.05 and 9840.00", acc.CriticalPaid, acc.CriticalBase)
		}
		// The ledger explains the change to B.
		adj, err := f.st.Adjustments(ctx, pt.CountyCode, b.ID)
		if err != nil || len(adj) != 1 {
			t.Fatalf("adjustments of B: %+v %v", adj, err)
		}
		if adj[0].Cause != settle.CauseCorrection || adj[0].CauseID != a.ID || adj[0].Before[settle.LayerCritical] != y("3531") || adj[0].After[settle.LayerCritical] != y("1964.05") {
			t.Errorf("adjustment %+v", adj[0])
		}
		// B's explanation still reproduces from its stored accumulators.
		if err := svc.Explain(ctx, b2); err != nil || !b2.Explained {
			t.Errorf("B no longer explains itself: %v", err)
		}
		// Reversing the corrected A settles B again as the year's first admission:
		// 6,420 − 6,269 = 151 above × 55 % = 83.05.
		if _, err := svc.Reverse(ctx, io, a2.ID, "录入错误"); err != nil {
			t.Fatal(err)
		}
		b3, _ := f.st.Settlement(ctx, b.ID)
		if got := b3.Result.Paid(settle.LayerCritical); got != y("83.05") {
			t.Errorf("B after A's reversal: critical %s, want 83.05", got)
		}
		if adj, _ := f.st.Adjustments(ctx, pt.CountyCode, b.ID); len(adj) != 2 || adj[1].Cause != settle.CauseReversal || adj[1].CauseID != a2.ID {
			t.Errorf("adjustments after the reversal: %+v", adj)
		}
		// A bill dated before B settled after it: B follows it again.
		c, _, err := svc.Settle(ctx, io, bill("C", "2026-01-15", "20000"), "c", 0)
		if err != nil || c.Result.Paid(settle.LayerCritical) != y("83.05") {
			t.Fatalf("C: %v %v", c.Result.Paid(settle.LayerCritical), err)
		}
		b4, _ := f.st.Settlement(ctx, b.ID)
		if got := b4.Result.Paid(settle.LayerCritical); got != y("3531") {
			t.Errorf("B after an earlier visit: critical %s, want 3531.00", got)
		}
		checkResettleUnchanged(t, f.st, pt.CountyCode, 2026, sp)
	})
}

// TestSettlementBooksEqualResettle is issue 18's property, on the store:
// any random sequence of settlements (in any date order), corrections and
// reversals of a person-year ends exactly where `countycare resettle
// --year` ends (the year's live bills settled again in date order from
// zero: store.EachLiveBill into settle.Resettler) — every visit's split per
// payer layer and the patient's share to the fen, and the year's
// accumulators. Each run takes a resident of its own.
func TestSettlementBooksEqualResettle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f, svc, sp := settleFixture(t, d)
		ctx := context.Background()
		io := f.actors[care.RoleInsuranceOfficer]
		tree, _ := f.orgs.Tree(ctx)
		insts := []int64{tree.OfKind(0, org.KindCountyHospital)[0].ID, tree.OfKind(0, org.KindVillageClinic)[0].ID, tree.OfKind(0, org.KindTownshipHC)[0].ID}
		pts, _, err := f.res.Search(ctx, io, "", resident.Filter{Limit: 100})
		poor, _, err2 := f.res.Search(ctx, io, "", resident.Filter{Limit: 100, Poverty: resident.PovertyAny})
		if err != nil || err2 != nil || len(poor) == 0 {
			t.Fatalf("residents: %v %v", err, err2)
		}
		seen := map[int64]bool{}
		for _, p := range pts {
			seen[p.ID] = true
		}
		for _, p := range poor {
			if !seen[p.ID] {
				pts = append(pts, p)
			}
		}
		rand.New(rand.NewPCG(3, 4)).Shuffle(len(pts), func(i, j int) { pts[i], pts[j] = pts[j], pts[i] })
		run := 0
		rapid.Check(t, func(rt *rapid.T) {
			if run >= len(pts) {
				rt.Skip("out of residents")
			}
			pt := pts[run]
			run++
			type visit struct {
				id    int64
				visit string
			}
			var live []visit
			bill := func(visit string) settle.Input {
				in := settle.Input{ResidentID: pt.ID, InstitutionID: rapid.SampledFrom(insts).Draw(rt, "institution"), VisitID: visit,
					Date:      fmt.Sprintf("2026-%02d-%02d", rapid.IntRange(1, 12).Draw(rt, "month"), rapid.IntRange(1, 28).Draw(rt, "day")),
					VisitType: rapid.SampledFrom([]string{settle.Inpatient, settle.Outpatient, settle.Chronic}).Draw(rt, "type"), Insured: rapid.IntRange(0, 9).Draw(rt, "insured") > 0}
				if in.VisitType == settle.Chronic {
					in.ChronicCategory = rapid.SampledFrom([]string{"HT", "DM"}).Draw(rt, "chronic")
				}
				for j := range rapid.IntRange(1, 3).Draw(rt, "lines") {
					in.Lines = append(in.Lines, settle.Line{Code: fmt.Sprint(j), Class: "treatment", Category: rapid.SampledFrom([]string{"A", "B", "C"}).Draw(rt, "cat"),
						Amount: settle.Fen(rapid.Int64Range(int64(1-min(j, 1)), 6_000_000).Draw(rt, "amount"))})
				}
				return in
			}
			for i := range rapid.IntRange(1, 12).Draw(rt, "steps") {
				switch op := rapid.IntRange(0, 5).Draw(rt, "op"); {
				case op < 3 || len(live) == 0:
					v := fmt.Sprintf("P%d-%d", pt.ID, i)
					st, _, err := svc.Settle(ctx, io, bill(v), v, 0)
					if err != nil {
						rt.Fatalf("settle: %v", err)
					}
					live = append(live, visit{st.ID, v})
				case op < 5:
					k := rapid.IntRange(0, len(live)-1).Draw(rt, "correct")
					st, _, err := svc.Settle(ctx, io, bill(live[k].visit), fmt.Sprintf("%s-fix-%d", live[k].visit, i), live[k].id)
					if err != nil {
						rt.Fatalf("correct: %v", err)
					}
					live[k].id = st.ID
				default:
					k := rapid.IntRange(0, len(live)-1).Draw(rt, "reverse")
					if _, err := svc.Reverse(ctx, io, live[k].id, "录入错误"); err != nil {
						rt.Fatalf("reverse: %v", err)
					}
					live = append(live[:k], live[k+1:]...)
				}
			}
			checkResettleOf(rt, f.st, pt.CountyCode, 2026, sp, pt.ID)
		})
	})
}

// TestCorrectionIntoAnotherYear: a corrected bill dated in another policy
// year leaves its old year, whose later bills are settled again without
// it, and joins the new one (issue 18). Same figures as
// TestCorrectionResettlesLaterVisits: an ordinary county admission of
// 20,000 alone in its year pays 83.05 critical illness; after another
// of 20,000, 3,531.00.
func TestCorrectionIntoAnotherYear(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f, svc, sp := settleFixture(t, d)
		ctx := context.Background()
		io := f.actors[care.RoleInsuranceOfficer]
		body, _ := settle.ExampleFile("985-2026.json")
		sp27, err := svc.UploadPolicy(ctx, io, []byte(strings.ReplaceAll(string(body), "2026", "2027")))
		if err != nil {
			t.Fatal(err)
		}
		tree, _ := f.orgs.Tree(ctx)
		hosp := tree.OfKind(0, org.KindCountyHospital)[0]
		pts, _, _ := f.res.Search(ctx, io, "", resident.Filter{Limit: 1})
		pt := pts[0]
		bill := func(visit, date string) settle.Input {
			return settle.Input{ResidentID: pt.ID, InstitutionID: hosp.ID, VisitID: visit, Date: date, VisitType: settle.Inpatient, Insured: true,
				Lines: []settle.Line{{Code: "x", Class: "treatment", Category: "A", Amount: 2_000_000}}}
		}
		y := func(s string) settle.Fen { v, _ := settle.ParseYuan(s); return v }
		a, _, err := svc.Settle(ctx, io, bill("A", "2026-12-20"), "a", 0)
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := svc.Settle(ctx, io, bill("B", "2026-12-28"), "b", 0)
		if err != nil || b.Result.Paid(settle.LayerCritical) != y("3531") {
			t.Fatalf("B: %v %v", b.Result.Paid(settle.LayerCritical), err)
		}
		a2, _, err := svc.Settle(ctx, io, bill("A", "2027-01-05"), "a2", a.ID)
		if err != nil || a2.Year != 2027 || a2.Result.Paid(settle.LayerCritical) != y("83.05") {
			t.Fatalf("A in 2027: year %d critical %v %v", a2.Year, a2.Result.Paid(settle.LayerCritical), err)
		}
		if b2, _ := f.st.Settlement(ctx, b.ID); b2.Result.Paid(settle.LayerCritical) != y("83.05") {
			t.Errorf("B alone in 2026: critical %s, want 83.05", b2.Result.Paid(settle.LayerCritical))
		}
		checkResettleUnchanged(t, f.st, pt.CountyCode, 2026, sp)
		checkResettleUnchanged(t, f.st, pt.CountyCode, 2027, sp27)
	})
}
