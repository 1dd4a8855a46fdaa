package main

import (
	"context"
	"fmt"
	"io"

	"countycare/care"
)

// benchMCH measures the maternal and child health lists (issue 17: each
// ≤ 100 ms p99 for a township of the 1 M county): a township doctor's
// overdue antenatal and postpartum visits (maternal.Service.Overdue) and
// overdue child checks (childhealth.Service.Overdue), each through its
// service with the scope and the audit row, then both over HTTP on
// loopback (GET /api/v1/mch/overdue, and the page GET /mch), on a demo
// county carrying the year of the programmes (countycare demo
// --pregnancies; by default births of 1 % of the residents).
func benchMCH(ctx context.Context, stdout io.Writer, a *app, base string, user map[care.Role]string, county string, n, conc int) error {
	td, clinics, err := townshipActor(ctx, a, user, county)
	if err != nil {
		return err
	}
	var preg, kids int
	a.st.QueryForTest(ctx, `SELECT COUNT(*) FROM mch_pregnancies`, &preg)
	a.st.QueryForTest(ctx, `SELECT COUNT(*) FROM mch_children`, &kids)
	ante, err := a.maternal.Overdue(ctx, td)
	if err != nil {
		return err
	}
	ch, err := a.children.Overdue(ctx, td)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "county: %d pregnancies, %d children under management; township of %s: %d villages, %d overdue maternal visits, %d overdue child checks\n",
		preg, kids, td.Username, len(clinics), len(ante), len(ch))
	report(stdout, "township's overdue maternal visits (maternal.Service.Overdue: scope, query, audit row)", runLoad(n, conc, func(int) error {
		_, err := a.maternal.Overdue(ctx, td)
		return err
	}))
	report(stdout, "township's overdue child checks (childhealth.Service.Overdue: scope, query, audit row)", runLoad(n, conc, func(int) error {
		_, err := a.children.Overdue(ctx, td)
		return err
	}))
	c, err := login(base, user[care.RoleTownshipDoctor])
	if err != nil {
		return err
	}
	report(stdout, "both lists over HTTP (GET /api/v1/mch/overdue)", runLoad(n, conc, func(int) error { return c.get("/api/v1/mch/overdue") }))
	report(stdout, "the work-list page (GET /mch)", runLoad(n, conc, func(int) error { return c.get("/mch") }))
	a.audit.Flush(ctx)
	return nil
}

// townshipActor is the demo township doctor as an actor, with the clinics
// the township manages.
func townshipActor(ctx context.Context, a *app, user map[care.Role]string, county string) (care.Actor, []int64, error) {
	accs, err := a.st.Accounts(ctx, 1000)
	if err != nil {
		return care.Actor{}, nil, err
	}
	var td care.Actor
	for _, x := range accs {
		if x.Username == user[care.RoleTownshipDoctor] {
			td = care.Actor{AccountID: x.ID, Username: x.Username, Role: x.Role, InstitutionID: x.InstitutionID, CountyCode: county, PractitionerID: x.PractitionerID}
		}
	}
	clinics, err := a.res.ManagedClinics(ctx, td)
	return td, clinics, err
}
