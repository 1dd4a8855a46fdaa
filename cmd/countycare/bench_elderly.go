package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"countycare/care"
	"countycare/elderly"
	"countycare/store"
)

// benchElderly measures the township's 65+ roster (issue 17: ≤ 100 ms p99
// for a township of the 1 M county): the roster with its status counts
// and the overdue rows first (elderly.Service.Roster: scope, query, audit
// row), the suspected cases, and both over HTTP on loopback (GET
// /api/v1/elderly/roster?status=overdue, and the page GET /elderly). A
// county without check-ups (a database demo-generated before them) first
// gets a plain year of them for 70 % of its residents 65+ (dates spread
// over the past year, no form), written by one INSERT … SELECT, and the
// residents' last check-up dates set from them: the roster reads only
// those dates.
func benchElderly(ctx context.Context, stdout io.Writer, a *app, base string, user map[care.Role]string, county string, n, conc int) error {
	var have int
	if err := a.st.QueryForTest(ctx, `SELECT COUNT(*) FROM elderly_checkups`, &have); err != nil {
		return err
	}
	if have == 0 {
		today := care.Today(time.Now())
		date := `date('now', '-' || (id % 365) || ' days')`
		year := `CAST(strftime('%Y', ` + date + `) AS INTEGER)`
		if a.st.Dialect() == store.Postgres {
			date = `(CURRENT_DATE - (id % 365)::int)`
			year = `CAST(EXTRACT(YEAR FROM ` + date + `) AS INTEGER)`
		}
		t := time.Now()
		q := fmt.Sprintf(`INSERT INTO elderly_checkups (county_code, resident_id, managed_by, year, date, sbp, dbp, bmi_x10, self_care_score,
			self_care_grade, form, clinic_id, by_account, created_at)
			SELECT county_code, id, village_id, %s, %s, 120 + id %% 50, 70 + id %% 25, 230, 0, 'independent', '{}', village_id, 0, CURRENT_TIMESTAMP
			FROM residents WHERE county_code = '%s' AND status = 'active' AND birth_date <= '%d-12-31' AND id %% 10 < 7`, year, date, county, today.Year-65)
		if err := a.st.ExecForTest(ctx, q); err != nil {
			return err
		}
		if err := a.st.KeepElderlyLast(ctx); err != nil {
			return err
		}
		a.st.QueryForTest(ctx, `SELECT COUNT(*) FROM elderly_checkups`, &have)
		fmt.Fprintf(stdout, "wrote %d plain check-ups (70 %% of residents 65+) in %s\n", have, time.Since(t).Round(time.Millisecond))
	}
	td, err := townshipActor(ctx, a, user, county)
	if err != nil {
		return err
	}
	clinics, err := a.res.ManagedClinics(ctx, td)
	if err != nil {
		return err
	}
	ro, err := a.elderly.Roster(ctx, td, []elderly.Status{elderly.Overdue, elderly.Due}, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "county: %d check-ups; township of %s: %d villages, %d residents 65+ (%d done, %d due, %d overdue), %d rows listed\n",
		have, td.Username, len(clinics), ro.Total, ro.Counts[elderly.Done], ro.Counts[elderly.Due], ro.Counts[elderly.Overdue], len(ro.Rows))
	report(stdout, "township's 65+ due/overdue roster (elderly.Service.Roster: scope, query, status, audit row)", runLoad(n, conc, func(int) error {
		_, err := a.elderly.Roster(ctx, td, []elderly.Status{elderly.Overdue, elderly.Due}, 0)
		return err
	}))
	report(stdout, "township's suspected cases (elderly.Service.Suspected)", runLoad(n, conc, func(int) error {
		_, err := a.elderly.Suspected(ctx, td)
		return err
	}))
	c, err := login(base, user[care.RoleTownshipDoctor])
	if err != nil {
		return err
	}
	report(stdout, "the roster over HTTP (GET /api/v1/elderly/roster?status=overdue)", runLoad(n, conc, func(int) error {
		return c.get("/api/v1/elderly/roster?status=overdue")
	}))
	report(stdout, "the roster page (GET /elderly)", runLoad(n, conc, func(int) error { return c.get("/elderly") }))
	a.audit.Flush(ctx)
	return nil
}
