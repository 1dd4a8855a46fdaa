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
// values are read for the county, then kept for the unit), the village
// with the most services due (the family figures). Latency is the
// client's on loopback; no duty runs first (the records read their rows).
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
			report(stdout, fmt.Sprintf("%s %s (first page)", tg.what, p), runLoad(n, conc, func(int) error { return cl.get(path) }))
		}
	}
	return nil
}
