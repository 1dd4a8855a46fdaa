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

// TestDemoWritesNothingInTheFuture: generated at 01:05 in China (17:05
// UTC the day before), the demo dates records on China's today but writes
// none of them after its now. A record written "at 10:00 today" would be
// in the future for nine hours, and a FHIR export _since now would find it
// later (this failed TestBulkExport in the evenings, UTC).
func TestDemoWritesNothingInTheFuture(t *testing.T) {
	now := time.Date(2026, 12, 7, 17, 5, 0, 0, time.UTC)
	st := testdb.Open(t, store.SQLite, func() time.Time { return now })
	if _, err := demo.Generate(context.Background(), st, demo.Config{Residents: 3000, Villages: 12, VillageDoctors: 24, Pregnancies: demo.ScaledPregnancies(3000), Now: now,
		ElderlyPercent: demo.ElderlyCoverage, Screening: demo.ScreeningShare, OutreachWeeks: demo.OutreachWeeksPerYear,
		EduSessions: demo.ScaledEduSessions(3000), HomeVisits: demo.ScaledHomeVisits(3000)},
		slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	limit := now.Format("2006-01-02T15:04:05.000000Z")
	for _, q := range []string{
		`SELECT COUNT(*) FROM chronic_visits WHERE created_at > '` + limit + `'`,
		`SELECT COUNT(*) FROM chronic_registrations WHERE created_at > '` + limit + `'`,
		`SELECT COUNT(*) FROM family_contracts WHERE consent_at > '` + limit + `' OR created_at > '` + limit + `'`,
		`SELECT COUNT(*) FROM mch_visits WHERE created_at > '` + limit + `'`,
		`SELECT COUNT(*) FROM mch_child_checks WHERE created_at > '` + limit + `'`,
		`SELECT COUNT(*) FROM elderly_checkups WHERE created_at > '` + limit + `'`,
		`SELECT COUNT(*) FROM screening_campaigns WHERE created_at > '` + limit + `'`,
		`SELECT COUNT(*) FROM screening_measurements WHERE created_at > '` + limit + `'`,
		`SELECT COUNT(*) FROM screening_cases WHERE created_at > '` + limit + `'`,
		`SELECT COUNT(*) FROM outreach_bookings WHERE booked_at > '` + limit + `' OR updated_at > '` + limit + `'`,
		`SELECT COUNT(*) FROM outreach_sessions WHERE cancelled_at > '` + limit + `' OR updated_at > '` + limit + `'`,
		`SELECT COUNT(*) FROM edu_sessions WHERE created_at > '` + limit + `'`,
		`SELECT COUNT(*) FROM home_visits WHERE requested_at > '` + limit + `' OR scheduled_at > '` + limit + `'`,
	} {
		var n int
		if err := st.QueryRowForTest(context.Background(), q, &n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n != 0 {
			t.Errorf("%d rows written after the demo's now: %s", n, q)
		}
	}
	// Today's records exist (China's today is 8 December), so the check
	// above is not empty by construction.
	var today int
	if err := st.QueryRowForTest(context.Background(), `SELECT (SELECT COUNT(*) FROM chronic_visits WHERE visit_date = '2026-12-08') + (SELECT COUNT(*) FROM mch_visits WHERE date = '2026-12-08') + (SELECT COUNT(*) FROM mch_child_checks WHERE date = '2026-12-08')`, &today); err != nil {
		t.Fatal(err)
	}
	if today == 0 {
		t.Error("no follow-up dated China's today: the test does not reach the case it guards")
	}
}
