package demo_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/store"
)

// TestDemoScreening: the demo county carries a year of household screening
// — each township one campaign over its villages, about 60 % of each
// target screened, suspected cases routed to the townships, most past due
// confirmed (enrolled in the registry) or ruled out, some still pending and
// overdue. Both databases.
func TestDemoScreening(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		st := testdb.Open(t, d, time.Now)
		ctx := context.Background()
		res, err := demo.Generate(ctx, st, demo.Config{Residents: 3000, Villages: 12, VillageDoctors: 24, FollowUps: demo.ScaledFollowUps(3000),
			Screening: demo.ScreeningShare}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		today := care.Today(time.Now())
		var campaigns, villages, screened, pending, overdue, confirmed, linked int
		for q, dst := range map[string]*int{
			`SELECT COUNT(*) FROM screening_campaigns`:                                                            &campaigns,
			`SELECT COUNT(*) FROM institutions WHERE kind = 'village_clinic'`:                                     &villages,
			`SELECT COUNT(DISTINCT resident_id) FROM screening_measurements`:                                      &screened,
			`SELECT COUNT(*) FROM screening_cases WHERE status = 'pending'`:                                       &pending,
			`SELECT COUNT(*) FROM screening_cases WHERE status = 'pending' AND due_on < '` + today.String() + `'`: &overdue,
			`SELECT COUNT(*) FROM screening_cases WHERE status = 'confirmed'`:                                     &confirmed,
			`SELECT COUNT(*) FROM screening_cases c JOIN chronic_registrations g ON g.id = c.registration_id
				WHERE g.source = 'screening' AND g.disease = c.disease AND g.resident_id = c.resident_id`: &linked,
		} {
			if err := st.QueryRowForTest(ctx, q, dst); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if campaigns == 0 || screened != res.Screened || pending == 0 || overdue == 0 || confirmed == 0 || linked != confirmed {
			t.Fatalf("campaigns %d, screened %d (result %d), pending %d, overdue %d, confirmed %d (linked %d)",
				campaigns, screened, res.Screened, pending, overdue, confirmed, linked)
		}
		// Coverage per campaign: about 60 % of the target (the store's count).
		var county string
		if err := st.QueryRowForTest(ctx, `SELECT county_code FROM screening_campaigns LIMIT 1`, &county); err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for id := int64(1); id <= int64(campaigns); id++ {
			c, err := st.Campaign(ctx, county, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range c.Villages {
				if seen[v] {
					t.Errorf("village %d in two campaigns", v)
				}
				seen[v] = true
			}
			rows, err := st.CampaignCounts(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			var target, done int
			for _, r := range rows {
				target, done = target+r.Target, done+r.Screened
			}
			if target == 0 || done*100 < target*45 || done*100 > target*75 {
				t.Errorf("campaign %d: screened %d of %d", id, done, target)
			}
		}
		if len(seen) != villages {
			t.Errorf("campaigns cover %d of %d villages", len(seen), villages)
		}
	})
}
