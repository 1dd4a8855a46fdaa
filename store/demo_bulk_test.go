package store_test

import (
	"context"
	"testing"
	"time"

	"countycare/audit"
	"countycare/consult"
	"countycare/demo"
	"countycare/family"
	"countycare/internal/testdb"
	"countycare/store"
)

// The demo writes contracts, their services and consultations through the
// bulk loader with IDs it assigns: the rows read back whole, the opinion
// seals verify against the stored record, and later ordinary writes get
// fresh IDs (PostgreSQL's identity sequences were advanced).
func TestDemoBulkContractsAndConsultations(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		now := time.Date(2026, 11, 22, 2, 0, 0, 123456789, time.UTC)
		st := testdb.Open(t, d, func() time.Time { return now })
		ctx := context.Background()
		res, err := demo.Generate(ctx, st, demo.Config{Residents: 2000, Villages: 20, VillageDoctors: 40, Now: now, Contracts: 300, Consultations: 150}, quiet)
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
		if res.Contracts == 0 || res.Consultations == 0 || res.HomeVisits+res.Checkups == 0 {
			t.Fatalf("demo wrote %d contracts, %d consultations, %d services", res.Contracts, res.Consultations, res.HomeVisits+res.Checkups)
		}
		c1, err := st.Contract(ctx, 1)
		if err != nil {
			t.Fatalf("contract 1: %v", err)
		}
		if c1.Status != family.StatusActive || c1.TeamID == 0 || c1.PackageID == 0 || !c1.End.After(c1.Start) || c1.Consent.By == "" {
			t.Errorf("contract 1 read back as %+v", c1)
		}
		if ds, err := st.Deliveries(ctx, c1.CountyCode, c1.ResidentID, 100); err != nil {
			t.Fatalf("deliveries: %v", err)
		} else {
			for _, x := range ds {
				if x.ContractID != c1.ID && x.ResidentID != c1.ResidentID {
					t.Errorf("service %+v is not the resident's", x)
				}
			}
		}
		sealed := 0
		for id := int64(1); id <= int64(res.Consultations); id++ {
			c, _, _, err := st.Consultation(ctx, id)
			if err != nil {
				t.Fatalf("consultation %d: %v", id, err)
			}
			if c.Opinion == nil || c.Opinion.Hash == "" {
				t.Fatalf("consultation %d has no signed opinion", id)
			}
			if got := consult.OpinionHash(c.ID, c.Opinion); got != c.Opinion.Hash {
				t.Fatalf("consultation %d: seal %s does not verify against the stored opinion (%s)", id, c.Opinion.Hash, got)
			}
			sealed++
		}
		if sealed != res.Consultations {
			t.Errorf("%d of %d consultations verified", sealed, res.Consultations)
		}
		// Ordinary writes after the load get IDs after the loaded ones.
		k := &family.Contract{CountyCode: c1.CountyCode, ResidentID: c1.ResidentID, TeamID: c1.TeamID, PackageID: c1.PackageID, Services: c1.Services,
			Start: c1.Start, End: c1.End, Status: family.StatusEnded, Consent: c1.Consent}
		if err := st.SignContracts(ctx, []*family.Contract{k}, nil, []audit.Event{{Action: "test", Outcome: audit.OutcomeOK, CountyCode: c1.CountyCode}}); err != nil {
			t.Fatalf("new contract after the load: %v", err)
		}
		if k.ID <= int64(res.Contracts) {
			t.Errorf("new contract got ID %d, not after the %d loaded", k.ID, res.Contracts)
		}
		first, _, _, _ := st.Consultation(ctx, 1)
		nc := *first
		nc.ID, nc.Opinion = 0, nil
		if err := st.LoadConsultations(ctx, []*consult.Consultation{&nc}, nil, audit.Event{Action: "test", Outcome: audit.OutcomeOK, CountyCode: nc.County}); err != nil {
			t.Fatalf("new consultation after the load: %v", err)
		}
		if nc.ID <= int64(res.Consultations) {
			t.Errorf("new consultation got ID %d, not after the %d loaded", nc.ID, res.Consultations)
		}
	})
}
