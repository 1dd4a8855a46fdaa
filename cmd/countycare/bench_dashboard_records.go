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

// benchDashboardRecords measures the records behind the dashboard's
// referral, critical-value, settlement and family-doctor figures (GET
// /dashboard/units/{id}/records, first page, as the analyst; issue 14 §1:
// ≤ 300 ms p99 on the 1 M county) for the year to date and the last full
// month, each at its heaviest unit: the township center whose institutions
// settled the most (the bills), the first township (referrals and critical
// values), the village with the most services due (the family figures);
// then a page deep in the year's bills and each year's list exported whole
// (CSV and XLSX). Latency is the client's on loopback, with the process's
// CPU a request (server and client); no duty runs first (the records read
// their rows).
func benchDashboardRecords(stdout io.Writer, a *app, base string, user map[care.Role]string, n, conc int) error {
	ctx := context.Background()
	cl, err := login(base, user[care.RoleAnalyst])
	if err != nil {
		return err
	}
	cl.hc.Timeout = 5 * time.Minute
	today := care.Today(time.Now())
	month := lastMonth(today)
	t, err := a.orgs.Tree(ctx)
	if err != nil {
		return err
	}
	var county *org.Institution
	for _, r := range t.Roots() {
		if r.Kind == org.KindCounty {
			county = r
		}
	}
	if county == nil {
		return fmt.Errorf("bench: no county in the database")
	}
	var towns []*org.Institution
	for _, k := range []org.Kind{org.KindSubCenter, org.KindCentralHC, org.KindTownshipHC} {
		towns = append(towns, t.OfKind(county.ID, k)...)
	}
	if len(towns) == 0 {
		return fmt.Errorf("bench: no township center in the county")
	}
	// The heaviest township for the bills: the most money settled this year.
	fees, err := a.st.SettlementSums(ctx, county.CountyCode, care.Date{Year: today.Year, Month: 1, Day: 1}, today)
	if err != nil {
		return err
	}
	billsAt, most := towns[0], int64(-1)
	for _, tw := range towns {
		var sum int64
		for _, id := range t.Subtree(tw.ID) {
			sum += fees[id].Total
		}
		if sum > most {
			billsAt, most = tw, sum
		}
	}
	// The heaviest village for the family figures: the most services due.
	analyst := care.Actor{Role: care.RoleAnalyst, CountyCode: county.CountyCode}
	fr, err := a.family.PointIndicators(ctx, analyst, today)
	if err != nil {
		return err
	}
	var village int64
	due := -1
	for v, in := range fr.ByVillage {
		if in.Fulfilment.Den > due {
			village, due = v, in.Fulfilment.Den
		}
	}
	type target struct {
		unit  int64
		what  string
		query string
	}
	targets := []target{
		{towns[0].ID, "referrals behind a township's completion", "indicator=referral_completion"},
		{towns[0].ID, "referrals behind a township's out-of-county rate, the poor only", "indicator=out_of_county&poor=1"},
		{towns[0].ID, "critical values behind a township's acknowledgement in time", "indicator=critical_ack_in_time"},
		{billsAt.ID, "bills behind the busiest township's patients' share", "indicator=settle_oop_share"},
		{village, "contracts behind the busiest village's coverage", "indicator=family_coverage"},
		{village, "services due behind the busiest village's fulfilment, not delivered only", "indicator=family_fulfilment&missing=1"},
	}
	for _, p := range []kpi.Period{kpi.YearOf(today), month} {
		for _, tg := range targets {
			path := fmt.Sprintf("/dashboard/units/%d/records?%s&period=%s", tg.unit, tg.query, p)
			reportCPU(stdout, fmt.Sprintf("%s %s (first page)", tg.what, p), n, conc, func(int) error { return cl.get(path) })
		}
	}
	// A page deep in the year's bills (the 20th: 950 bills skipped).
	deep := fmt.Sprintf("/dashboard/units/%d/records?indicator=settle_oop_share&period=%s&page=20", billsAt.ID, kpi.YearOf(today))
	reportCPU(stdout, fmt.Sprintf("bills behind the busiest township's patients' share %s (page 20)", kpi.YearOf(today)), n, conc, func(int) error { return cl.get(deep) })
	// The exports of the year's whole lists (the route is absent before
	// issue 14's export: a 404, reported as errors).
	for _, tg := range targets[:4] {
		for _, format := range []string{"csv", "xlsx"} {
			path := fmt.Sprintf("/dashboard/units/%d/records/export?%s&period=%s&format=%s", tg.unit, tg.query, kpi.YearOf(today), format)
			reportCPU(stdout, fmt.Sprintf("%s %s, the whole list as %s", tg.what, kpi.YearOf(today), format), max(n/5, 2), 1, func(int) error { return cl.get(path) })
		}
	}
	return nil
}

// reportCPU runs n requests (conc at a time) and reports their latency and
// the process's CPU time a request (server and client: one process) — on
// a shared machine CPU moves with the work far less than latency does.
func reportCPU(w io.Writer, name string, n, conc int, fn func(int) error) {
	cpu := processCPU()
	r := runLoad(n, conc, fn)
	report(w, name, r)
	if r.err == nil && len(r.lat) > 0 {
		fmt.Fprintf(w, "  %s: CPU %s a request\n", name, ((processCPU() - cpu) / time.Duration(len(r.lat))).Round(10*time.Microsecond))
	}
}
