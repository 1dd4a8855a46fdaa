package chronic

import (
	"context"
	"fmt"
	"slices"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
)

// MaxReportDays bounds an indicator period (about five years).
const MaxReportDays = 5*366 + 1

// UnitReport is one unit's indicators — a village clinic, a township
// center, a medical community or the county — by disease.
type UnitReport struct {
	Unit    *org.Institution
	Depth   int // 0 county, 1 community, 2 township, 3 village
	Cells   map[Disease]Indicators
	Adults  int // residents aged ≥ AdultsFrom (the estimate's base)
	Clinics int // village clinics counted
	// AdultsFrom is the age Adults counts from: Config.PrevalenceMinAge.
	AdultsFrom int
}

// Report is the indicators of every unit an actor may see over a period.
type Report struct {
	From, To care.Date
	Units    []UnitReport // tree order: county, then each community, township and village below it
}

// unitsOf returns the units a village clinic's patients count towards:
// the clinic, its township-level center, its medical community and its county.
func unitsOf(t *org.Tree, clinic int64) []int64 {
	out := []int64{clinic}
	for _, a := range t.Ancestors(clinic) {
		switch a.Kind {
		case org.KindCounty, org.KindCommunity, org.KindTownshipHC, org.KindCentralHC, org.KindSubCenter:
			out = append(out, a.ID)
		}
	}
	return out
}

func depthOf(k org.Kind) int {
	switch k {
	case org.KindCounty:
		return 0
	case org.KindCommunity:
		return 1
	case org.KindVillageClinic:
		return 3
	}
	return 2
}

// CheckPeriod validates a reporting period.
func CheckPeriod(from, to care.Date, today care.Date) error {
	var fs []care.FieldError
	switch {
	case from.IsZero():
		fs = append(fs, care.FieldError{Field: "from", Key: "field.date"})
	case to.IsZero():
		fs = append(fs, care.FieldError{Field: "to", Key: "field.date"})
	case to.Before(from):
		fs = append(fs, care.FieldError{Field: "to", Key: "chronic.period.order"})
	case to.Time().Sub(from.Time()).Hours()/24 > MaxReportDays:
		fs = append(fs, care.FieldError{Field: "to", Key: "chronic.period.too_long", Args: []any{5}})
	case from.After(today):
		fs = append(fs, care.FieldError{Field: "from", Key: "chronic.period.future"})
	}
	return care.Invalid(fs)
}

// Indicators computes the management indicators of policy-rules.md §1 for
// every unit the actor may see over [from, to]: analysts and county staff
// see the whole county; township and village staff see the units inside
// their managed area (never a county total built from part of it). The
// figures are aggregates; the read is audited.
func (s *Service) Indicators(ctx context.Context, a care.Actor, from, to care.Date) (*Report, error) {
	if err := CheckPeriod(from, to, care.Today(s.Now())); err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	var clinics []int64 // nil: the county
	visible := func(int64) bool { return true }
	switch a.Role {
	case care.RoleAnalyst, care.RoleCountySpecialist:
	case care.RoleVillageDoctor, care.RoleTownshipDoctor:
		var err error
		if clinics, err = s.Residents.ManagedClinics(ctx, a); err != nil {
			return nil, err
		}
		in := map[int64]bool{}
		for _, id := range clinics {
			in[id] = true
		}
		if a.Role == care.RoleTownshipDoctor {
			in[a.InstitutionID] = true
		}
		visible = func(id int64) bool { return in[id] }
	default:
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	rep, err := s.report(ctx, t, a.CountyCode, clinics, visible, from, to)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActReport, 0)
	ev.Detail = fmt.Sprintf("indicators %s..%s units=%d", from, to, len(rep.Units))
	s.Audit.Record(ctx, ev)
	return rep, nil
}

// report tallies the registrations of the clinics (nil: the county) and
// returns the units visible() accepts, in tree order.
func (s *Service) report(ctx context.Context, t *org.Tree, county string, clinics []int64, visible func(int64) bool, from, to care.Date) (*Report, error) {
	tl := &Tally{From: from, To: to, Config: s.Config, UnitsOf: func(c int64) []int64 { return unitsOf(t, c) }}
	// The callbacks are named so that each error check sits in a coverage
	// block of its own (gremlins skips a condition after a function literal).
	addYear := func(u *UnitYear) error { tl.AddUnitYear(u); return nil }
	addPatient := func(p *PatientPeriod) error { tl.Add(p); return nil }
	var err error
	if IsYearPeriod(from, to, care.Today(s.Now())) {
		// A calendar year or the year to date: a handful of counter rows per clinic.
		err = s.Repo.ChronicUnitYears(ctx, county, clinics, from.Year, addYear)
	} else {
		err = s.Repo.ChronicPeriod(ctx, county, clinics, from, to, addPatient)
	}
	if err != nil {
		return nil, err
	}
	return s.finishReport(ctx, t, tl, county, clinics, visible)
}

// finishReport adds the estimated patients to a tally and lays the units out in tree order.
func (s *Service) finishReport(ctx context.Context, t *org.Tree, tl *Tally, county string, clinics []int64, visible func(int64) bool) (*Report, error) {
	from, to := tl.From, tl.To
	adults, err := s.adultCounts(ctx, county, clinics, to)
	if err != nil {
		return nil, err
	}
	perUnit, clinicsPer := map[int64]int{}, map[int64]int{}
	for v, n := range adults {
		if clinics != nil && !visible(v) {
			continue
		}
		for _, u := range unitsOf(t, v) {
			perUnit[u] += n
			clinicsPer[u]++
		}
	}
	for u, n := range perUnit {
		tl.Estimate(u, n)
	}
	res := tl.Result()
	rep := &Report{From: from, To: to}
	byUnit := map[int64]map[Disease]Indicators{}
	for k, v := range res {
		if byUnit[k.Unit] == nil {
			byUnit[k.Unit] = map[Disease]Indicators{}
		}
		byUnit[k.Unit][k.Disease] = v
	}
	var walk func(id int64)
	walk = func(id int64) {
		in := t.Get(id)
		if in == nil {
			return
		}
		if _, counted := perUnit[id]; (counted || byUnit[id] != nil) && visible(id) {
			rep.Units = append(rep.Units, UnitReport{Unit: in, Depth: depthOf(in.Kind), Cells: byUnit[id], Adults: perUnit[id], Clinics: clinicsPer[id], AdultsFrom: s.Config.PrevalenceMinAge})
		}
		kids := t.Children(id)
		for _, k := range kids {
			walk(k.ID)
		}
	}
	for _, r := range t.Roots() {
		if r.Kind == org.KindCounty && r.CountyCode == county {
			walk(r.ID)
		}
	}
	return rep, nil
}

// Unit returns the report of one unit, or nil.
func (r *Report) Unit(id int64) *UnitReport {
	i := slices.IndexFunc(r.Units, func(u UnitReport) bool { return u.Unit.ID == id })
	if i < 0 {
		return nil
	}
	return &r.Units[i]
}

// adultsTTL is how long the estimated-patient base (residents ≥ 35 per
// village) is reused: counting them reads every resident of the area, and
// an estimate of prevalence does not need the last minute's registrations.
const adultsTTL = time.Minute

type adultsEntry struct {
	at     time.Time
	counts map[int64]int
}

// adultCounts returns Repo.AdultCounts, cached for adultsTTL.
func (s *Service) adultCounts(ctx context.Context, county string, clinics []int64, day care.Date) (map[int64]int, error) {
	key := fmt.Sprintf("%s|%d|%s|%v", county, s.Config.PrevalenceMinAge, day, clinics)
	now := s.Now()
	s.mu.Lock()
	e, ok := s.adults[key]
	s.mu.Unlock()
	if ok && now.Sub(e.at) < adultsTTL && !now.Before(e.at) {
		return e.counts, nil
	}
	counts, err := s.Repo.AdultCounts(ctx, county, clinics, s.Config.PrevalenceMinAge, day)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.adults == nil || len(s.adults) > 10000 {
		s.adults = map[string]adultsEntry{}
	}
	s.adults[key] = adultsEntry{at: now, counts: counts}
	s.mu.Unlock()
	return counts, nil
}
