package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"countycare/care"
	"countycare/kpi"
	"countycare/org"
)

// benchDashboard measures the analyst's county dashboard (GET /dashboard,
// issue 14 §1: ≤ 300 ms p99 server time for the 1 M county): views served
// from the (scope, period) cache, and views that compute the period afresh
// (the cache emptied before each) — for the year to date, which chronic
// reads from its per-unit counters, and for the last full month, which it
// counts patient by patient. Latency is the client's on loopback.
func benchDashboard(stdout io.Writer, a *app, base string, user map[care.Role]string, n, conc int) error {
	cl, err := login(base, user[care.RoleAnalyst])
	if err != nil {
		return err
	}
	cl.hc.Timeout = 10 * time.Minute // a computed view of a 1 M county may take longer than the default 30 s
	today := care.Today(time.Now())
	month := lastMonth(today)
	// The scheduler's "dashboard figures" duty, as serve runs it every
	// --dashboard-figures-every: first run on a database, then a periodic one.
	start := time.Now()
	days, periods, err := keepDashboardFigures(context.Background(), a, today)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dashboard figures duty, first run: family figures of %d days, %d periods kept in %s\n", days, periods, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if days, periods, err = keepDashboardFigures(context.Background(), a, today); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dashboard figures duty, a periodic run: family figures of %d days, %d periods kept in %s\n", days, periods, time.Since(start).Round(time.Millisecond))
	kept := a.dashboard.Kept
	for _, p := range []kpi.Period{kpi.YearOf(today), month} {
		path := "/dashboard?period=" + p.String()
		if err := cl.get(path); err != nil { // fills the cache
			return err
		}
		report(stdout, fmt.Sprintf("county dashboard %s, cached", p), runLoad(n, conc, func(int) error { return cl.get(path) }))
		// The collapsed reading-center group as the page fetches it when opened
		// (turnaround quantiles from the kept histograms, in the same snapshot).
		// The collapsed reading-center and case-mix (CMI) groups as the page
		// fetches them when opened (turnaround quantiles from the kept
		// histograms, the CMI's kept sums: in the same snapshot).
		for _, g := range []string{"reading", "casemix"} {
			group := "/dashboard/groups/" + g + "?part=1&period=" + p.String()
			report(stdout, fmt.Sprintf("county dashboard %s, the %s group's rows on demand, cached", p, g), runLoad(n, conc, func(int) error { return cl.get(group) }))
		}
		misses := max(n/100, 3)
		report(stdout, fmt.Sprintf("county dashboard %s, from the kept dashboard (cache emptied before each view)", p), runLoad(misses, 1, func(int) error {
			a.dashboard.Invalidate()
			return cl.get(path)
		}))
		a.dashboard.Kept = nil // a period the duty does not keep: computed from the reports
		report(stdout, fmt.Sprintf("county dashboard %s, computed (cache emptied before each view, nothing kept)", p), runLoad(misses, 1, func(int) error {
			a.dashboard.Invalidate()
			return cl.get(path)
		}))
		a.dashboard.Kept = kept
	}
	// The drill-down to the records behind a village's control rate: the
	// first page of its registered hypertensive patients, each judged.
	t, err := a.orgs.Tree(context.Background())
	if err != nil {
		return err
	}
	for _, r := range t.Roots() {
		vs := t.OfKind(r.ID, org.KindVillageClinic)
		if r.Kind != org.KindCounty || len(vs) == 0 {
			continue
		}
		for _, p := range []kpi.Period{kpi.YearOf(today), month} {
			path := fmt.Sprintf("/dashboard/units/%d/records?indicator=htn_controlled&period=%s", vs[len(vs)/2].ID, p)
			report(stdout, fmt.Sprintf("records behind a village's hypertension control %s (first page)", p), runLoad(max(n/10, 3), conc, func(int) error { return cl.get(path) }))
		}
		break
	}
	return nil
}

// lastMonth is the last full month before today's.
func lastMonth(today care.Date) kpi.Period {
	if today.Month == 1 {
		return kpi.Period{Kind: kpi.Month, Year: today.Year - 1, N: 12}
	}
	return kpi.Period{Kind: kpi.Month, Year: today.Year, N: int(today.Month) - 1}
}
