package main

import (
	"context"
	"fmt"
	"io"

	"countycare/care"
)

// benchScreening measures the township's screening follow-up list (issue
// 17: ≤ 100 ms p99 for a township of the 1 M county): the pending and
// overdue confirmations through screening.Service.FollowUps (role, query,
// audit row), then over HTTP on loopback (GET /api/v1/screening/follow-ups
// and the page GET /screening/follow-ups), on a demo county carrying a
// year of screening campaigns (countycare demo --screening, 60 % by default).
func benchScreening(ctx context.Context, stdout io.Writer, a *app, base string, user map[care.Role]string, county string, n, conc int) error {
	td, err := townshipActor(ctx, a, user, county)
	if err != nil {
		return err
	}
	var measurements, cases, pending int
	a.st.QueryForTest(ctx, `SELECT COUNT(*) FROM screening_measurements`, &measurements)
	a.st.QueryForTest(ctx, `SELECT COUNT(*) FROM screening_cases`, &cases)
	a.st.QueryForTest(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM screening_cases WHERE status = 'pending' AND township_id = %d`, td.InstitutionID), &pending)
	list, err := a.screening.FollowUps(ctx, td)
	if err != nil {
		return err
	}
	today := care.Today(a.screening.Now())
	late := 0
	for i := range list {
		if list[i].Overdue(today) {
			late++
		}
	}
	fmt.Fprintf(stdout, "county: %d screening measurements, %d suspected cases; township of %s: %d pending confirmations, %d listed, %d of them overdue\n",
		measurements, cases, td.Username, pending, len(list), late)
	report(stdout, "township's screening follow-ups (screening.Service.FollowUps: role, query, audit row)", runLoad(n, conc, func(int) error {
		_, err := a.screening.FollowUps(ctx, td)
		return err
	}))
	c, err := login(base, user[care.RoleTownshipDoctor])
	if err != nil {
		return err
	}
	report(stdout, "over HTTP (GET /api/v1/screening/follow-ups)", runLoad(n, conc, func(int) error { return c.get("/api/v1/screening/follow-ups") }))
	report(stdout, "the page (GET /screening/follow-ups)", runLoad(n, conc, func(int) error { return c.get("/screening/follow-ups") }))
	a.audit.Flush(ctx)
	return nil
}
