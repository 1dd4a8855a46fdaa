package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"countycare/care"
	"countycare/family"
	"countycare/internal/testdb"
	"countycare/points"
	"countycare/resident"
	"countycare/store"
)

// TestTeamPointsKept: each award counts for the team whose contract covered
// the resident on the day (docs/dashboard.md, migration 0058); a
// redemption, an award before the contract and an award to a resident
// without one count for no team; the awards listed behind the team are
// exactly its kept figure; a rebuild from the ledger (a bulk load's SQL)
// and the migration's backfill give the same table as the awards kept one
// by one.
func TestTeamPointsKept(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		pts := &points.Service{Repo: f.st, Residents: f.res, Rules: points.DefaultRules(), Audit: syncRecorder{f.st, t}, Now: f.clk.Now}
		vd, td := f.actors[care.RoleVillageDoctor], f.actors[care.RoleTownshipDoctor]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{Limit: 2})
		if len(people) < 2 {
			t.Fatal("too few residents in the demo village")
		}
		today := care.Today(f.clk.Now())
		fam := familyService(f, t)
		fam.Points = pts
		pkg, team := checkupTeam(t, f, fam)
		q, other := people[1], people[0]
		start := today.AddDays(-3)
		if _, err := fam.Sign(ctx, vd, q.ID, family.Terms{TeamID: team.ID, PackageID: pkg.ID, Start: start, End: family.MinEnd(start),
			Consent: family.Consent{By: family.ConsentSelf, Method: family.ConsentPaper, At: f.clk.Now().Add(-time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		// Counted: a check-up (10) and a follow-up (5) under the contract.
		if _, err := fam.Record(ctx, vd, q.ID, family.Checkup, today, ""); err != nil {
			t.Fatal(err)
		}
		if _, _, err := pts.Award(ctx, vd, q.ID, points.FollowUp, "chronic_visit:1", today); err != nil {
			t.Fatal(err)
		}
		// Not the team's: before the contract, a redemption, another resident.
		if _, _, err := pts.Award(ctx, vd, q.ID, points.FollowUp, "chronic_visit:2", today.AddDays(-5)); err != nil {
			t.Fatal(err)
		}
		if _, err := pts.Redeem(ctx, vd, q.ID, 5, "form-1", "兑换鸡蛋"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := pts.Award(ctx, vd, other.ID, points.FollowUp, "chronic_visit:3", today); err != nil {
			t.Fatal(err)
		}
		from := care.Date{Year: today.Year, Month: today.Month, Day: 1}
		from = from.AddDays(-40)
		kept, err := f.st.TeamPointsSums(ctx, q.CountyCode, from, today)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, tp := range kept {
			if tp.TeamID == team.ID {
				got = []int64{tp.Awards, tp.Points, tp.Institution}
			}
		}
		if want := []int64{2, 15, td.InstitutionID}; !reflect.DeepEqual(got, want) {
			t.Fatalf("team kept (awards, points, institution) %v, want %v", got, want)
		}
		aws, err := f.st.TeamAwards(ctx, q.CountyCode, team.ID, from, today.AddDays(31))
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, a := range aws {
			sum += a.Points
			if a.ResidentID != q.ID {
				t.Errorf("award of resident %d listed for the team", a.ResidentID)
			}
		}
		if len(aws) != 2 || sum != 15 {
			t.Errorf("awards behind the team: %d worth %d, want 2 worth 15", len(aws), sum)
		}
		all := care.Date{Year: 2000, Month: 1, Day: 1}
		before, _ := f.st.TeamPointsSums(ctx, q.CountyCode, all, today.AddDays(400))
		if err := f.st.RebuildTeamPoints(ctx); err != nil {
			t.Fatal(err)
		}
		after, _ := f.st.TeamPointsSums(ctx, q.CountyCode, all, today.AddDays(400))
		if !reflect.DeepEqual(before, after) {
			t.Errorf("rebuilt %+v, kept %+v", after, before)
		}
		// The migration's backfill builds the same table from the ledger.
		for _, q := range []string{`DROP TABLE points_team`, `DELETE FROM schema_migrations WHERE version = 58`} {
			if err := f.st.ExecForTest(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := f.st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if migrated, _ := f.st.TeamPointsSums(ctx, q.CountyCode, all, today.AddDays(400)); !reflect.DeepEqual(before, migrated) {
			t.Errorf("migrated %+v, kept %+v", migrated, before)
		}
	})
}
