package appraisal

import (
	"context"
	"fmt"

	"countycare/audit"
	"countycare/care"
	"countycare/kpi"
	"countycare/org"
)

// ActView is the audit action of an appraisal read (page or API).
const ActView = "appraisal.view"

// Boards is what the appraisal needs of the dashboard (kpi.Service): a
// unit's rates for a period, within the viewer's scope — a unit outside
// it is ENOTFOUND and audited there (kpi.out_of_scope).
type Boards interface {
	Board(ctx context.Context, a care.Actor, unitID int64, p kpi.Period) (*kpi.Board, error)
}

// SatisfactionSource gives the resident surveys' satisfaction per unit
// for a year (survey.Service): satisfied answers and answers, each unit
// counting those of every unit below, and only units with enough answers
// to show (fewer is no data).
type SatisfactionSource interface {
	Satisfaction(ctx context.Context, county string, year int) (map[int64][2]int, error)
}

// Service appraises units for a year.
type Service struct {
	Boards Boards
	Rules  *Rules
	Audit  audit.Recorder
	// Surveys feeds the satisfaction item; nil: it has no data.
	Surveys SatisfactionSource
}

// Scored is one unit's appraisal: the set it is appraised by (a village
// clinic by the doctor appraisal, every other unit by the institution
// appraisal) and its score.
type Scored struct {
	Unit  *org.Institution
	Set   Set
	Score Score
}

// Report is a unit's appraisal for a year with the units one level below.
type Report struct {
	Scored
	Path     []*org.Institution // breadcrumbs, from the viewer's root
	Year     int
	From, To care.Date
	Children []Scored
}

// setOf is the appraisal a unit is scored by.
func setOf(u *org.Institution) Set {
	if u.Kind == org.KindVillageClinic {
		return Doctors
	}
	return Institutions
}

// Appraise returns unit's appraisal (0: the viewer's root) for year, and
// that of each unit below it. Scope, roles and the period are the
// dashboard's: EFORBIDDEN for a role without one, ENOTFOUND for a unit
// out of scope (audited), EINVALID for a future year; ENOTFOUND
// (appraisal.no_rules) for a year the rules do not cover. The read is
// audited (ActView).
func (s *Service) Appraise(ctx context.Context, a care.Actor, unitID int64, year int) (*Report, error) {
	if _, err := s.Rules.Scheme(year, Institutions); err != nil {
		return nil, err
	}
	b, err := s.Boards.Board(ctx, a, unitID, kpi.Period{Kind: kpi.Year, Year: year})
	if err != nil {
		return nil, err
	}
	sat := map[int64][2]int{}
	if s.Surveys != nil {
		if sat, err = s.Surveys.Satisfaction(ctx, a.CountyCode, year); err != nil {
			return nil, err
		}
	}
	rep := &Report{Path: b.Path, Year: year, From: b.From, To: b.To}
	rep.Scored = s.score(b.Unit, b.Rows, sat, year)
	for _, c := range b.Children {
		rep.Children = append(rep.Children, s.score(c.Unit, c.Rows, sat, year))
	}
	ev := audit.New(ctx, a, ActView, 0)
	ev.Detail = fmt.Sprintf("appraisal unit %d year %d children %d", b.Unit.ID, year, len(rep.Children))
	s.Audit.Record(ctx, ev)
	return rep, nil
}

func (s *Service) score(u *org.Institution, rows []kpi.Row, sat map[int64][2]int, year int) Scored {
	set := setOf(u)
	sc, _ := s.Rules.Scheme(year, set) // the year was checked; every year has both sets
	values := map[string]kpi.Rate{}
	for _, r := range rows {
		values[r.Indicator.ID] = r.Value.Rate
	}
	if x, ok := sat[u.ID]; ok {
		values[Satisfaction.ID] = kpi.Rate{Num: x[0], Den: x[1]}
	}
	return Scored{Unit: u, Set: set, Score: Evaluate(sc, values)}
}
