package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/family"
	"countycare/internal/testdb"
	"countycare/points"
	"countycare/resident"
	"countycare/store"
)

// TestPointsAwardOnce: an event earns points once however often it is
// retried or raced, on both databases; redemptions racing each other never
// take the balance below zero; the balance is the exact sum; a delivered
// family-doctor service awards its points in the same transaction.
func TestPointsAwardOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		pts := &points.Service{Repo: f.st, Residents: f.res, Rules: points.DefaultRules(), Audit: syncRecorder{f.st, t}, Now: f.clk.Now}
		vd := f.actors[care.RoleVillageDoctor]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{Limit: 2})
		p := people[0]
		today := care.Today(f.clk.Now())

		// Retries: the same chronic visit awarded three times counts once.
		for i := range 3 {
			_, ok, err := pts.Award(ctx, vd, p.ID, points.FollowUp, "chronic_visit:123", today)
			if err != nil || ok != (i == 0) {
				t.Fatalf("award %d: added %v, %v", i, ok, err)
			}
		}
		// Races: 8 goroutines award the same check-up at once.
		var wg sync.WaitGroup
		var mu sync.Mutex
		added := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ok, err := pts.Award(ctx, vd, p.ID, points.Checkup, "checkup:2026", today)
				if err != nil {
					t.Errorf("racing award: %v", err)
				}
				if ok {
					mu.Lock()
					added++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if added != 1 {
			t.Errorf("racing awards added %d entries, want 1", added)
		}
		bal, _ := f.st.PointsBalance(ctx, p.CountyCode, p.ID)
		if want := int64(5 + 10); bal != want {
			t.Fatalf("balance %d, want %d", bal, want)
		}
		if _, ok, _ := pts.Award(ctx, vd, p.ID, points.FollowUp, "chronic_visit:124", today); !ok {
			t.Error("a second visit earns points")
		}
		other := vd
		other.InstitutionID = f.actors[care.RoleTownshipDoctor].InstitutionID
		if _, _, err := pts.Award(ctx, other, p.ID, points.FollowUp, "chronic_visit:125", today); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("award outside scope: %v", err)
		}

		// Redemptions: 20 points available; 6 racing redemptions of 5 → exactly 4 succeed.
		ok, low := 0, 0
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := pts.Redeem(ctx, vd, p.ID, 5, fmt.Sprintf("form-%d", i), "兑换鸡蛋")
				mu.Lock()
				defer mu.Unlock()
				switch care.ErrorCode(err) {
				case "":
					ok++
				case care.EINVALID:
					low++
				default:
					t.Errorf("redeem: %v", err)
				}
			}()
		}
		wg.Wait()
		bal, _ = f.st.PointsBalance(ctx, p.CountyCode, p.ID)
		if ok != 4 || low != 2 || bal != 0 {
			t.Errorf("redemptions ok %d refused %d balance %d", ok, low, bal)
		}
		if _, err := pts.Redeem(ctx, vd, p.ID, 1, "form-9", "x"); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("redeem on an empty balance: %v", err)
		}

		// Self-reports: the resident's own steps and reading, once a day each.
		me := f.actors[care.RoleResident]
		if e, err := pts.Report(ctx, me, points.Steps, 25000, today); err != nil || e.Points != 2 {
			t.Fatalf("steps: %+v %v", e, err)
		}
		if _, err := pts.Report(ctx, me, points.Steps, 30000, today); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("second steps report the same day: %v", err)
		}
		if e, err := pts.Report(ctx, me, points.Steps, 90000, today.AddDays(-1)); err != nil || e.Points != 3 {
			t.Errorf("steps capped per day: %+v %v", e, err)
		}
		for _, c := range []struct {
			steps int
			on    care.Date
		}{{100001, today}, {-1, today}, {1000, today.AddDays(1)}} {
			if _, err := pts.Report(ctx, me, points.Steps, c.steps, c.on); care.ErrorCode(err) != care.EINVALID {
				t.Errorf("steps %d on %s: %v", c.steps, c.on, err)
			}
		}
		if _, err := pts.Report(ctx, me, points.Reading, 0, today); err != nil {
			t.Errorf("reading: %v", err)
		}
		if _, err := pts.Report(ctx, vd, points.Reading, 0, today); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("a doctor reports reading: %v", err)
		}
		acc, err := pts.Ledger(ctx, me, me.ResidentID)
		if err != nil || acc.Balance != 6 || acc.Balance != points.Balance(acc.Entries) {
			t.Errorf("resident ledger %+v %v", acc, err)
		}
		if _, err := pts.Ledger(ctx, me, p.ID); p.ID != me.ResidentID && care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("resident reads another's points: %v", err)
		}

		// A family-doctor service awards its points in the same transaction, once.
		fam := familyService(f, t)
		fam.Points = pts
		pkg, team := checkupTeam(t, f, fam)
		q := people[1]
		if _, err := fam.Sign(ctx, vd, q.ID, family.Terms{TeamID: team.ID, PackageID: pkg.ID, Start: today.AddDays(-10), End: family.MinEnd(today.AddDays(-10)),
			Consent: family.Consent{By: family.ConsentSelf, Method: family.ConsentPaper, At: f.clk.Now().Add(-time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := fam.Record(ctx, vd, q.ID, family.Checkup, today, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := fam.Record(ctx, vd, q.ID, family.Checkup, today, ""); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("duplicate service: %v", err)
		}
		if b, _ := f.st.PointsBalance(ctx, q.CountyCode, q.ID); b != 10 {
			t.Errorf("points for a check-up: %d, want 10", b)
		}

		// The ledger is append-only.
		if err := f.st.ExecForTest(ctx, `UPDATE points_ledger SET points = 1000`); err == nil {
			t.Error("a ledger row was updated")
		}
		if err := f.st.ExecForTest(ctx, `DELETE FROM points_ledger`); err == nil {
			t.Error("ledger rows were deleted")
		}
		if evs, _ := f.st.SearchAudit(ctx, audit.Filter{ResidentIDs: []int64{p.ID}, Action: points.ActRedeem}); len(evs) != 4 {
			t.Errorf("redeem audit rows %d", len(evs))
		}
	})
}

// checkupTeam saves a package with a yearly check-up and a team of the
// township doctor and the village doctor.
func checkupTeam(t *testing.T, f *fixture, fam *family.Service) (*family.Package, *family.Team) {
	t.Helper()
	ctx := context.Background()
	admin, td, vd := f.actors[care.RoleAdmin], f.actors[care.RoleTownshipDoctor], f.actors[care.RoleVillageDoctor]
	pkg := &family.Package{Code: "p", Name: "包", Kind: family.PackageBasic, Active: true, Services: family.Dues{{Kind: family.Checkup, PerYear: 1}}}
	team := &family.Team{Name: "队", InstitutionID: td.InstitutionID, LeaderID: td.PractitionerID, Active: true,
		Members: []family.Member{{PractitionerID: td.PractitionerID, Role: family.MemberDoctor}, {PractitionerID: vd.PractitionerID, Role: family.MemberVillageDoctor}}}
	if err := fam.SavePackage(ctx, admin, pkg); err != nil {
		t.Fatal(err)
	}
	if err := fam.SaveTeam(ctx, admin, team); err != nil {
		t.Fatal(err)
	}
	return pkg, team
}
