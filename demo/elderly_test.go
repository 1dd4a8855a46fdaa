package demo_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/store"
)

// TestDemoElderly: the demo county carries a year of elderly check-ups
// at the articles' volumes — about 70 % of the residents aged 65+
// checked, TCM identification for about 60 % — with suspected cases and
// constitutions derived by the programme's rules, on both databases.
func TestDemoElderly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		st := testdb.Open(t, d, time.Now)
		res, err := demo.Generate(context.Background(), st, demo.Config{Residents: 4000, Villages: 10, VillageDoctors: 20, FollowUps: 500,
			ElderlyPercent: demo.ElderlyCoverage}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var elders, checks, tcm, suspected int
		year := care.Today(time.Now()).Year
		for q, dst := range map[string]*int{
			fmt.Sprintf(`SELECT COUNT(*) FROM residents WHERE birth_date <= '%d-12-31'`, year-65): &elders,
			`SELECT COUNT(*) FROM elderly_checkups`:                                               &checks,
			`SELECT COUNT(*) FROM elderly_checkups WHERE tcm_types <> ''`:                         &tcm,
			`SELECT COUNT(*) FROM elderly_checkups WHERE suspected <> ''`:                         &suspected,
		} {
			if err := st.QueryRowForTest(ctx, q, dst); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if elders < 100 || checks != res.ElderlyCheckups || tcm != res.ElderlyTCM || checks < elders*62/100 || checks > elders*78/100 ||
			tcm < elders*52/100 || tcm > elders*68/100 || suspected == 0 {
			t.Errorf("65+ %d: check-ups %d (result %d), TCM %d (result %d), suspected %d", elders, checks, res.ElderlyCheckups, tcm, res.ElderlyTCM, suspected)
		}
	})
}
