package family

import (
	"context"
	"fmt"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
)

// VillageDay is one village clinic's point figures on one day: what the
// coverage, key-population coverage and fulfilment rates of a period
// ending that day are made of (SigningCoverage, KeyCoverage,
// FulfilmentRate read nothing of a contract but whether it is in force on
// the period's last day and its services up to then). Renewal is not a
// point figure and is not kept.
type VillageDay struct {
	VillageID  int64
	Residents  int // active residents
	Key        int // of them, the key population (Population.Key)
	Covered    int // residents with a contract in force (签约覆盖率's numerator)
	CoveredKey int // key-population members with a contract in force
	FulfilNum  int // contracted services delivered, capped per line (履约率)
	FulfilDen  int // contracted services due
}

// Indicators are the day's figures as the programme's rates; Renewal is
// left empty (no data).
func (d VillageDay) Indicators() Indicators {
	return Indicators{
		Coverage:    Rate{Num: d.Covered, Den: d.Residents},
		KeyCoverage: Rate{Num: d.CoveredKey, Den: d.Key},
		Fulfilment:  Rate{Num: d.FulfilNum, Den: d.FulfilDen},
	}
}

// DayFigures computes each village's VillageDay on day from its population
// and the contracts in force that day (the same rules as Compute: the
// rates' numerators and denominators, kept as counts).
func DayFigures(pops []Population, cs []ContractFact, day care.Date) []VillageDay {
	in := Compute(pops, cs, day, day)
	out := make([]VillageDay, 0, len(pops))
	for _, p := range pops {
		v := in[p.VillageID]
		out = append(out, VillageDay{VillageID: p.VillageID, Residents: v.Coverage.Den, Key: v.KeyCoverage.Den,
			Covered: v.Coverage.Num, CoveredKey: v.KeyCoverage.Num, FulfilNum: v.Fulfilment.Num, FulfilDen: v.Fulfilment.Den})
	}
	return out
}

// DayStore keeps the villages' figures per day (store.Store implements it).
type DayStore interface {
	// SaveVillageDays replaces the county's figures of day with days, in
	// one transaction, and records when they were computed.
	SaveVillageDays(ctx context.Context, county string, day care.Date, days []VillageDay, at time.Time) error
	// VillageDays returns the figures of day for the clinics, and whether
	// day was snapshotted at all (false: nothing is kept for that day).
	VillageDays(ctx context.Context, county string, clinics []int64, day care.Date) ([]VillageDay, bool, error)
	// SnapshotDays lists the county's snapshotted days in [from, to].
	SnapshotDays(ctx context.Context, county string, from, to care.Date) ([]care.Date, error)
}

// SnapshotBackMonths is how many past month ends SnapshotDue keeps: the
// dashboard's trends go back a year, its period picker two.
const SnapshotBackMonths = 24

// RestateDays is how long after a month's end its last day is computed
// again, so that services recorded late for the month (a follow-up keyed
// in on the 3rd for the 30th) reach its figures; after that the month's
// figures stand.
const RestateDays = 7

// SnapshotDue returns the days the figures should be computed for on
// today: today; the last month end while within RestateDays of it; and
// every month end of the last SnapshotBackMonths not in have.
func SnapshotDue(today care.Date, have []care.Date) []care.Date {
	kept := map[care.Date]bool{}
	for _, d := range have {
		kept[d] = true
	}
	due := []care.Date{today}
	first := care.Date{Year: today.Year, Month: today.Month, Day: 1}
	for i := 1; i <= SnapshotBackMonths; i++ {
		end := first.AddDays(-1) // the last day of the month before first
		if (i == 1 && !today.After(end.AddDays(RestateDays))) || !kept[end] {
			due = append(due, end)
		}
		first = care.Date{Year: end.Year, Month: end.Month, Day: 1}
	}
	return due
}

// SnapshotDay computes and keeps every village clinic's figures of a
// county on day (the scheduler's "dashboard figures" duty). It reads
// counts only, never a patient's record, so it writes no audit row; the
// views that read the kept figures are audited (PointIndicators).
func (s *Service) SnapshotDay(ctx context.Context, county string, day care.Date) (int, error) {
	if s.Days == nil {
		return 0, care.Errorf(care.EINTERNAL, "family: no day store")
	}
	clinics, err := s.villageClinics(ctx, care.Actor{Role: care.RoleAnalyst, CountyCode: county})
	if err != nil {
		return 0, err
	}
	vd, err := s.countDay(ctx, county, clinics, day)
	if err != nil {
		return 0, err
	}
	return len(vd), s.Days.SaveVillageDays(ctx, county, day, vd, s.Now())
}

// countDay counts the clinics' figures of day from the residents,
// contracts and services (the slow path the kept figures spare a view).
func (s *Service) countDay(ctx context.Context, county string, clinics []int64, day care.Date) ([]VillageDay, error) {
	pops, err := s.Repo.Population(ctx, county, clinics, day)
	if err != nil {
		return nil, err
	}
	facts, err := s.Repo.ContractFacts(ctx, county, clinics, day, day)
	if err != nil {
		return nil, err
	}
	return DayFigures(pops, facts, day), nil
}

// villageClinics are the village clinics within a's scope for indicators:
// the county's for an analyst, the township's for a township doctor.
func (s *Service) villageClinics(ctx context.Context, a care.Actor) ([]int64, error) {
	var root int64
	switch a.Role {
	case care.RoleAnalyst:
	case care.RoleTownshipDoctor:
		root = a.InstitutionID
	default:
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	tree, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	var clinics []int64
	for _, in := range tree.OfKind(root, org.KindVillageClinic) {
		clinics = append(clinics, in.ID)
	}
	return clinics, nil
}

// PointIndicators is Indicators of a period ending on day for the rates
// that depend on that day alone (coverage, key coverage, fulfilment; no
// renewal), read from the figures kept for day when there are any and
// computed from the rows otherwise. Same scope and audit as Indicators.
// Errors: EINVALID (a day after today), EFORBIDDEN.
func (s *Service) PointIndicators(ctx context.Context, a care.Actor, day care.Date) (*Report, error) {
	if today := care.Today(s.Now()); day.IsZero() || day.After(today) {
		return nil, care.Invalid([]care.FieldError{{Field: "to", Key: "family.period"}})
	}
	clinics, err := s.villageClinics(ctx, a)
	if err != nil {
		return nil, err
	}
	var vd []VillageDay
	kept := false
	if s.Days != nil {
		if vd, kept, err = s.Days.VillageDays(ctx, a.CountyCode, clinics, day); err != nil {
			return nil, err
		}
	}
	source := "kept"
	if !kept {
		source = "computed"
		if vd, err = s.countDay(ctx, a.CountyCode, clinics, day); err != nil {
			return nil, err
		}
	}
	r := &Report{From: day, To: day, ByVillage: make(map[int64]Indicators, len(vd))}
	for _, d := range vd {
		in := d.Indicators()
		r.ByVillage[d.VillageID] = in
		r.Total = r.Total.Add(in)
	}
	ev := audit.New(ctx, a, ActIndicators, 0)
	ev.Detail = fmt.Sprintf("family point indicators %s villages=%d %s", day, len(vd), source)
	s.Audit.Record(ctx, ev)
	return r, nil
}
