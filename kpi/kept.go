package kpi

import (
	"context"
	"time"

	"countycare/care"
)

// Kept is a computed dashboard kept in the database: every unit's rates of
// a county for one period, as the county's analysts see them. A township's
// staff read the same rows for the units of their township (each unit's
// figures are the same whoever computes them: summed from below, never
// from above — TestKeptServesEveryScope).
type Kept struct {
	Period     string
	From, To   care.Date
	Values     map[int64]map[string]Rate
	ComputedAt time.Time
}

// KeptStore keeps computed dashboards (store.Store implements it).
type KeptStore interface {
	SaveKept(ctx context.Context, county string, k *Kept) error
	// LoadKept returns the county's kept dashboard of period (false: none).
	LoadKept(ctx context.Context, county, period string) (*Kept, bool, error)
	// KeptPeriods lists the county's kept periods with when each was computed.
	KeptPeriods(ctx context.Context, county string) (map[string]time.Time, error)
}

// KeptDue returns the periods the dashboard figures duty computes on
// today, given what is kept: the periods a viewer can pick (this year and
// last, this year's quarters and months — the page's periodOptions) and
// the trend points of both years. The period in progress of each kind is
// computed every run; one that ended within RestateDays (late entries) is
// computed again; any other is computed once, when it is not kept.
func KeptDue(today care.Date, kept map[string]time.Time) []Period {
	var all []Period
	for _, y := range []int{today.Year, today.Year - 1} {
		year := Period{Kind: Year, Year: y}
		all = append(all, year)
		all = append(all, year.TrendMonths(today)...)
	}
	for q := 1; q <= (int(today.Month)+2)/3; q++ {
		all = append(all, Period{Kind: Quarter, Year: today.Year, N: q})
	}
	for m := 1; m <= int(today.Month); m++ {
		all = append(all, Period{Kind: Month, Year: today.Year, N: m})
	}
	var due []Period
	seen := map[Period]bool{}
	for _, p := range all {
		if seen[p] {
			continue
		}
		seen[p] = true
		end := p.To(today)
		_, have := kept[p.String()]
		if !have || !today.After(end.AddDays(RestateDays)) {
			due = append(due, p)
		}
	}
	return due
}

// RestateDays is how long after a period ends it is computed again, so
// that records keyed in late reach its figures (as family.RestateDays).
const RestateDays = 7

// Keep computes the county's dashboard for each period due and keeps it
// (the scheduler's "dashboard figures" duty). It reads the capability
// reports as the county's analysts would, under actor (the duty's own
// name for the audit trail), and returns how many periods it kept.
func (s *Service) Keep(ctx context.Context, actor care.Actor, today care.Date) (int, error) {
	if s.Kept == nil {
		return 0, care.Errorf(care.EINTERNAL, "kpi: no store for kept dashboards")
	}
	actor.Role = care.RoleAnalyst
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return 0, err
	}
	r, err := root(actor, t)
	if err != nil {
		return 0, err
	}
	have, err := s.Kept.KeptPeriods(ctx, actor.CountyCode)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range KeptDue(today, have) {
		sn, err := s.compute(ctx, actor, r.ID, p)
		if err != nil {
			return n, err
		}
		if err := s.Kept.SaveKept(ctx, actor.CountyCode, &Kept{Period: p.String(), From: sn.from, To: sn.to, Values: sn.values, ComputedAt: s.Now()}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// load is the snapshot of a scope and period: the kept one when the duty
// keeps it, computed from the capability reports otherwise; either way
// with the turnaround quantiles read from their kept histograms (a
// small read: centers × kinds × months × buckets), so that a dashboard
// kept before them has them too.
func (s *Service) load(ctx context.Context, a care.Actor, rootID int64, p Period) (*snapshot, error) {
	sn, err := s.loadRates(ctx, a, rootID, p)
	if err != nil {
		return nil, err
	}
	if s.Turnaround == nil {
		return sn, nil
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	return sn, s.addTurnaround(ctx, a, sn, t, rootID)
}

func (s *Service) loadRates(ctx context.Context, a care.Actor, rootID int64, p Period) (*snapshot, error) {
	if s.Kept != nil {
		k, ok, err := s.Kept.LoadKept(ctx, a.CountyCode, p.String())
		if err != nil {
			return nil, err
		}
		if ok {
			return &snapshot{from: k.From, to: k.To, values: k.Values}, nil
		}
	}
	return s.compute(ctx, a, rootID, p)
}
