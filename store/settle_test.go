package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/resident"
	"countycare/settle"
	"countycare/store"
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
	})
}
