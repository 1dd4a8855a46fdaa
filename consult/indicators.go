package consult

import (
	"context"
	"fmt"
	"sort"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
)

// Indicators of remote consultation over a period (issue #3; the seeds'
// "answered within 10 minutes" promise):
//
//	volume                by kind, department (specialty) and inviting township
//	response time         accepted − created, over accepted cases: median and p90
//	SLA compliance        cases accepted before their first deadline (created +
//	                      Config.ResponseMinutes) / cases that were accepted or are
//	                      past their first deadline (cases still inside it are not yet judged)
//	escalations           missed deadlines, and cases with at least one
//	outcomes              decisions: advice / referral / treated locally
type Indicators struct {
	Total        int
	ByKind       map[Kind]int
	BySpecialty  map[string]int
	ByTownship   map[int64]int // inviting clinic's township center
	Accepted     int
	MedianAccept time.Duration
	P90Accept    time.Duration
	SLA          Rate
	Escalations  int // deadlines missed in all
	Escalated    int // cases escalated at least once
	Outcomes     map[string]int
}

// Rate is a count over a count.
type Rate struct{ Num, Den int }

// Percent returns the rate in percent with one decimal (0 for an empty denominator).
func (r Rate) Percent() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num*1000/r.Den) / 10
}

// quantile returns the q-quantile (nearest rank) of sorted durations.
func quantile(s []time.Duration, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	i := int(q*float64(len(s))+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

// Compute tallies the indicators of cases; township maps an inviting
// institution to its township center (0 if none); now judges open cases.
func Compute(cs []Consultation, cfg Config, township func(int64) int64, now time.Time) Indicators {
	ind := Indicators{ByKind: map[Kind]int{}, BySpecialty: map[string]int{}, ByTownship: map[int64]int{}, Outcomes: map[string]int{}}
	var waits []time.Duration
	for i := range cs {
		c := &cs[i]
		ind.Total++
		ind.ByKind[c.Kind]++
		ind.BySpecialty[c.Specialty]++
		if township != nil {
			ind.ByTownship[township(c.FromInstitution)]++
		}
		first := cfg.Deadline(c.Urgency, c.CreatedAt)
		if !c.AcceptedAt.IsZero() {
			ind.Accepted++
			waits = append(waits, c.AcceptedAt.Sub(c.CreatedAt))
			ind.SLA.Den++
			if !c.AcceptedAt.After(first) {
				ind.SLA.Num++
			}
		} else if now.After(first) && c.Status != StatusCancelled {
			ind.SLA.Den++ // past its first deadline without anyone accepting
		}
		ind.Escalations += c.Escalations
		if c.Escalations > 0 {
			ind.Escalated++
		}
		if c.Decision != "" {
			ind.Outcomes[c.Decision]++
		}
	}
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	ind.MedianAccept, ind.P90Accept = quantile(waits, 0.5), quantile(waits, 0.9)
	return ind
}

// Report computes the county's indicators over [from, to) for analysts and
// county staff (aggregates only; the read is audited).
func (s *Service) Report(ctx context.Context, a care.Actor, from, to time.Time) (*Indicators, error) {
	if a.Role != care.RoleAnalyst && a.Role != care.RoleCountySpecialist && a.Role != care.RoleTownshipDoctor {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if !to.After(from) || to.Sub(from) > 5*366*24*time.Hour {
		return nil, care.Invalid([]care.FieldError{{Field: "to", Key: "chronic.period.order"}})
	}
	cs, err := s.Repo.ConsultationStats(ctx, a.CountyCode, from, to)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	town := func(inst int64) int64 {
		for in := t.Get(inst); in != nil; in = t.Get(in.ParentID) {
			if in.Kind == org.KindTownshipHC || in.Kind == org.KindCentralHC || in.Kind == org.KindSubCenter {
				return in.ID
			}
		}
		return 0
	}
	if a.Role == care.RoleTownshipDoctor { // a township sees its own villages' requests
		mine := cs[:0]
		for _, c := range cs {
			if town(c.FromInstitution) == a.InstitutionID {
				mine = append(mine, c)
			}
		}
		cs = mine
	}
	ind := Compute(cs, s.Config, town, s.Now())
	ev := audit.New(ctx, a, "consult.indicators", 0)
	ev.Detail = fmt.Sprintf("consultation indicators %s..%s n=%d", from.Format("2006-01-02"), to.Format("2006-01-02"), ind.Total)
	s.Audit.Record(ctx, ev)
	return &ind, nil
}

// UnitFigures are the 10-minute promise for the cases one institution
// sent (the dashboard's consultation group, issue 14 §1): SLA as Compute
// judges it, and the share of its cases escalated at least once.
type UnitFigures struct {
	SLA       Rate // accepted before the first deadline / accepted or past it
	Escalated Rate // cases escalated at least once / cases
}

// ComputeByUnit tallies Compute's SLA and escalations per inviting
// institution (Consultation.FromInstitution).
func ComputeByUnit(cs []Consultation, cfg Config, now time.Time) map[int64]UnitFigures {
	by := map[int64][]Consultation{}
	for _, c := range cs {
		by[c.FromInstitution] = append(by[c.FromInstitution], c)
	}
	out := make(map[int64]UnitFigures, len(by))
	for inst, group := range by {
		in := Compute(group, cfg, nil, now)
		out[inst] = UnitFigures{SLA: in.SLA, Escalated: Rate{Num: in.Escalated, Den: in.Total}}
	}
	return out
}

// UnitReport is Report's SLA and escalations per inviting institution, for
// the dashboard: the county's cases for an analyst, the township's own
// villages' for a township doctor (EFORBIDDEN for anyone else). Aggregates
// only; the read is audited.
func (s *Service) UnitReport(ctx context.Context, a care.Actor, from, to time.Time) (map[int64]UnitFigures, error) {
	if a.Role != care.RoleAnalyst && a.Role != care.RoleTownshipDoctor {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if !to.After(from) || to.Sub(from) > 5*366*24*time.Hour {
		return nil, care.Invalid([]care.FieldError{{Field: "to", Key: "chronic.period.order"}})
	}
	cs, err := s.Repo.ConsultationStats(ctx, a.CountyCode, from, to)
	if err != nil {
		return nil, err
	}
	if a.Role == care.RoleTownshipDoctor {
		t, err := s.Orgs.Tree(ctx)
		if err != nil {
			return nil, err
		}
		mine := cs[:0]
		for _, c := range cs {
			if t.IsWithin(c.FromInstitution, a.InstitutionID) {
				mine = append(mine, c)
			}
		}
		cs = mine
	}
	out := ComputeByUnit(cs, s.Config, s.Now())
	ev := audit.New(ctx, a, "consult.indicators", 0)
	ev.Detail = fmt.Sprintf("consultation unit figures %s..%s n=%d units=%d", from.Format("2006-01-02"), to.Format("2006-01-02"), len(cs), len(out))
	s.Audit.Record(ctx, ev)
	return out, nil
}
