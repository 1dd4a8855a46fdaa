package survey

import (
	"context"
	"fmt"
	"sort"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
)

// Row is one institution's or doctor's tally as staff see it: the counts
// only when Shown (at least Config.MinCount answers), otherwise nothing
// but the fact that there are too few to show.
type Row struct {
	Unit   *org.Institution
	Doctor int64 // practitioner ID; 0 for an institution's row
	Shown  bool
	Tally  Tally // zero unless Shown
}

// Results are a year's survey results within the viewer's scope.
type Results struct {
	Year     int
	MinCount int
	Units    []Row // institutions, answers of their own and of every unit below
	Doctors  []Row
}

// hide keeps t's counts only if they may be shown.
func hide(r Row, t Tally, min int) Row {
	if t.Shown(min) {
		r.Shown, r.Tally = true, t
	}
	return r
}

// scopeRoot is the institution whose subtree the viewer sees results of:
// the county for analysts, their own center for township doctors; a
// village or county doctor sees only their own institution and their
// own answers. Other roles: EFORBIDDEN.
func scopeRoot(a care.Actor, t *org.Tree) (root int64, own bool, err error) {
	switch a.Role {
	case care.RoleAnalyst:
		for _, r := range t.Roots() {
			if r.Kind == org.KindCounty && r.CountyCode == a.CountyCode {
				return r.ID, false, nil
			}
		}
		return 0, false, care.Errorf(care.ENOTFOUND, "error.not_found")
	case care.RoleTownshipDoctor:
		return a.InstitutionID, false, nil
	case care.RoleVillageDoctor, care.RoleCountySpecialist:
		return a.InstitutionID, true, nil
	}
	return 0, false, care.Errorf(care.EFORBIDDEN, "error.forbidden")
}

// rollUp sums each tally into its institution and every ancestor, and
// a doctor's also into the doctor's own.
func rollUp(t *org.Tree, ts []Tally) (units map[int64]Tally, doctors map[[2]int64]Tally) {
	units, doctors = map[int64]Tally{}, map[[2]int64]Tally{}
	for _, x := range ts {
		if x.PractitionerID != 0 {
			k := [2]int64{x.InstitutionID, x.PractitionerID}
			doctors[k] = doctors[k].Add(x)
		}
		units[x.InstitutionID] = units[x.InstitutionID].Add(x)
		for _, an := range t.Ancestors(x.InstitutionID) {
			units[an.ID] = units[an.ID].Add(x)
		}
	}
	return units, doctors
}

// Results returns year's results within the viewer's scope, each row
// hidden below Config.MinCount answers: a doctor never sees a single
// answer, only aggregates. The read is audited (ActResults).
func (s *Service) Results(ctx context.Context, a care.Actor, year int) (*Results, error) {
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	root, own, err := scopeRoot(a, t)
	if err != nil {
		return nil, err
	}
	ts, err := s.Repo.SurveyTallies(ctx, a.CountyCode, fmt.Sprintf("%d-01", year), fmt.Sprintf("%d-12", year))
	if err != nil {
		return nil, err
	}
	units, doctors := rollUp(t, ts)
	res := &Results{Year: year, MinCount: s.Config.MinCount}
	for id, x := range units {
		if u := t.Get(id); u != nil && (id == root || (!own && t.IsWithin(id, root))) {
			res.Units = append(res.Units, hide(Row{Unit: u}, x, s.Config.MinCount))
		}
	}
	for k, x := range doctors {
		u := t.Get(k[0])
		if u == nil || (own && k[1] != a.PractitionerID) || (!own && !t.IsWithin(k[0], root)) || (own && k[0] != root) {
			continue
		}
		res.Doctors = append(res.Doctors, hide(Row{Unit: u, Doctor: k[1]}, x, s.Config.MinCount))
	}
	sort.Slice(res.Units, func(i, j int) bool { return res.Units[i].Unit.ID < res.Units[j].Unit.ID })
	sort.Slice(res.Doctors, func(i, j int) bool { return res.Doctors[i].Doctor < res.Doctors[j].Doctor })
	ev := audit.New(ctx, a, ActResults, 0)
	ev.Detail = fmt.Sprintf("survey results %d scope %d: %d units, %d doctors", year, root, len(res.Units), len(res.Doctors))
	s.Audit.Record(ctx, ev)
	return res, nil
}

// Satisfaction is the appraisal's satisfaction item for year: per unit
// (its answers and those of every unit below), satisfied answers over
// answers, only where there are at least Config.MinCount answers —
// fewer is "no data". Scope is the caller's (the appraisal's board).
func (s *Service) Satisfaction(ctx context.Context, county string, year int) (map[int64][2]int, error) {
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	ts, err := s.Repo.SurveyTallies(ctx, county, fmt.Sprintf("%d-01", year), fmt.Sprintf("%d-12", year))
	if err != nil {
		return nil, err
	}
	units, _ := rollUp(t, ts)
	out := map[int64][2]int{}
	for id, x := range units {
		if x.Shown(s.Config.MinCount) {
			out[id] = [2]int{x.Satisfied, x.Answers}
		}
	}
	return out, nil
}
