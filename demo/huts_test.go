package demo_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/store"
)

// TestDemoHutsAndSterilePacks: the demo county carries a year of device
// readings and the seeds' yearly sterile packs (62,892 in a county of
// SeedPopulation) scaled to its residents, on both databases: packs with
// their steps, one recalled cycle, most packs used on a village's resident
// before their expiry date.
func TestDemoHutsAndSterilePacks(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			st := testdb.Open(t, d, time.Now)
			packs, readings := demo.ScaledSterilePacks(20000), demo.ScaledHutReadings(20000)
			res, err := demo.Generate(context.Background(), st, demo.Config{Residents: 20000, Villages: 20, VillageDoctors: 40, SterilePacks: packs,
				HutReadings: readings}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var rows, used, late, recalled, reads, urgent int
			st.QueryForTest(ctx, `SELECT COUNT(*) FROM sterile_packs`, &rows)
			st.QueryForTest(ctx, `SELECT COUNT(*) FROM sterile_packs WHERE status = 'used' AND resident_id > 0`, &used)
			st.QueryForTest(ctx, `SELECT COUNT(*) FROM sterile_packs WHERE status = 'used' AND CAST(used_at AS DATE) > expires_on`, &late)
			st.QueryForTest(ctx, `SELECT COUNT(*) FROM sterile_cycles WHERE status = 'recalled'`, &recalled)
			st.QueryForTest(ctx, `SELECT COUNT(*) FROM device_readings`, &reads)
			st.QueryForTest(ctx, `SELECT COUNT(*) FROM device_readings WHERE urgent <> ''`, &urgent)
			if packs != 1233 || res.SterilePacks != packs || rows != packs || used < packs/2 || late != 0 || recalled != 1 {
				t.Errorf("packs %d (result %d, rows %d, used %d, used late %d, recalled cycles %d)", packs, res.SterilePacks, rows, used, late, recalled)
			}
			if reads == 0 || res.HutReadings != reads || urgent == 0 {
				t.Errorf("readings %d (result %d), urgent %d", reads, res.HutReadings, urgent)
			}
		})
	}
}
