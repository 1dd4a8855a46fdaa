package kpi

import (
	"context"
	"fmt"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/idcard"
	"countycare/org"
)

// Family-doctor points per team (issue 14 §1: points): the health points
// (积分, docs/points.md) awarded to the residents a family-doctor team had
// under contract on the day of the event, kept per team and month (store:
// points_team, migration 0058), so a period's figures are read from the
// kept sums, never from the ledger. A team belongs to its institution
// (family_teams.institution_id); a unit's teams are those of the
// institutions in its subtree. Redemptions are not a team's: the figure is
// what was awarded. docs/dashboard.md.

// TeamPoints is one team's awards over a period.
type TeamPoints struct {
	TeamID, Institution int64
	Name                string
	Awards, Points      int64
	// Contracted is the team's residents under contract at the period's
	// end, as the dashboard-figures duty kept them (TeamContracts, the
	// rule of family_coverage's numerator); 0 when none: no figure per
	// resident.
	Contracted int
}

// PerResident is the team's points per contracted resident in tenths of a
// point (rounded half up), so that a team of 2,000 residents compares
// with one of 500; ok is false without residents under contract.
func (tp TeamPoints) PerResident() (tenths int64, ok bool) {
	return perResident(tp.Points, tp.Contracted)
}

// PerResidentText is PerResident as "1.2" ("" when there is none).
func (tp TeamPoints) PerResidentText() string { return tenthsText(tp.PerResident()) }

// TeamContracted is one team's residents under contract on a day.
type TeamContracted struct {
	TeamID, Institution int64
	Residents           int
}

// teamKey is the snapshot key, at the team's institution, of a team's
// residents under contract at the period's end ({residents, 0}): kept
// with the dashboard (Kept), never an indicator of its own.
func teamKey(team int64) string { return fmt.Sprintf("team_contracted.%d", team) }

// TeamAward is one award behind a team's figure.
type TeamAward struct {
	ID, ResidentID int64
	Rule           string
	Points         int64
	On             care.Date
	Name, IDMasked string // the resident (idcard.Mask), filled on a page
}

// TeamPointsSource is what the points group needs of the store
// (store.Store): the kept sums over the months from from's to to's, and
// the awards behind one team's sum over the days [from, to].
type TeamPointsSource interface {
	TeamPointsSums(ctx context.Context, county string, from, to care.Date) ([]TeamPoints, error)
	TeamAwards(ctx context.Context, county string, team int64, from, to care.Date) ([]TeamAward, error)
	// TeamContracts counts each team's residents under contract on day
	// (de-duplicated, active residents, the contract covering the day:
	// family.Contract.Covers), for the dashboard-figures duty.
	TeamContracts(ctx context.Context, county string, day care.Date) ([]TeamContracted, error)
}

// UnitTeams is a unit below with its teams' points and their total.
type UnitTeams struct {
	Unit   *org.Institution
	Teams  []TeamPoints
	Awards int64
	Points int64
	// Contracted is the unit's residents under contract at the period's
	// end (the board's family_coverage numerator, kept per village per
	// day); 0 for a village clinic (its residents' teams are the
	// township's) or when none: no figure per resident.
	Contracted int
}

// PerResident is the points per contracted resident in tenths of a point
// (rounded half up); ok is false when there is no such figure.
func (ut UnitTeams) PerResident() (tenths int64, ok bool) {
	return perResident(ut.Points, ut.Contracted)
}

// PerResidentText is PerResident as "1.2" ("" when there is none).
func (ut UnitTeams) PerResidentText() string { return tenthsText(ut.PerResident()) }

// perResident is points over contracted residents in tenths of a point,
// rounded half up (docs/points.md: points per contracted resident).
func perResident(points int64, contracted int) (int64, bool) {
	if contracted <= 0 {
		return 0, false
	}
	c := int64(contracted)
	return (points*10 + c/2) / c, true
}

func tenthsText(n int64, ok bool) string {
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d.%d", n/10, n%10)
}

// PointsBoard is the points of a unit's teams over a period: the unit's
// total, and per unit below (the drill-down) its teams.
type PointsBoard struct {
	Unit     *org.Institution
	Path     []*org.Institution
	Period   Period
	From, To care.Date
	// Total: the unit's teams (its whole subtree) and its residents under
	// contract (UnitTeams.Contracted).
	Total UnitTeams
	// Units: the unit itself when its own teams have points, then each
	// unit below with a dashboard whose subtree has.
	Units []UnitTeams
}

// monthRange is the period's whole months as the kept sums count them:
// from the first of from's month to the end of to's month (a period in
// progress: to date). EINVALID for a future period.
func (s *Service) monthRange(p Period) (care.Date, care.Date, error) {
	today := care.Today(s.Now())
	from, to := p.From(), p.To(today)
	if from.After(today) {
		return from, to, care.Invalid([]care.FieldError{{Field: "period", Key: "kpi.period.future"}})
	}
	return from, to, nil
}

// TeamPoints returns the points of the teams of unit (0: the viewer's
// root) over period, scoped as Board (EFORBIDDEN, ENOTFOUND audited) and
// audited as a dashboard view (counts, no patient data).
func (s *Service) TeamPoints(ctx context.Context, a care.Actor, unitID int64, p Period) (*PointsBoard, error) {
	t, r, u, err := s.scope(ctx, a, unitID)
	if err != nil {
		return nil, err
	}
	from, to, err := s.monthRange(p)
	if err != nil {
		return nil, err
	}
	pb := &PointsBoard{Unit: u, Path: path(t, r, u), Period: p, From: from, To: to}
	if s.Points != nil {
		sums, err := s.Points.TeamPointsSums(ctx, a.CountyCode, from, to)
		if err != nil {
			return nil, err
		}
		units := []*org.Institution{u}
		for _, c := range t.Children(u.ID) {
			if dashboardKind(c.Kind) {
				units = append(units, c)
			}
		}
		for i, x := range units {
			ut := UnitTeams{Unit: x}
			for _, tp := range sums {
				// The unit's own teams first; a unit below: its whole subtree.
				if (i == 0 && tp.Institution == x.ID) || (i > 0 && t.IsWithin(tp.Institution, x.ID)) {
					ut.Teams = append(ut.Teams, tp)
					ut.Awards += tp.Awards
					ut.Points += tp.Points
				}
			}
			if len(ut.Teams) > 0 {
				pb.Units = append(pb.Units, ut)
			}
		}
		pb.Total = UnitTeams{Unit: u}
		for _, tp := range sums {
			if t.IsWithin(tp.Institution, u.ID) {
				pb.Total.Awards += tp.Awards
				pb.Total.Points += tp.Points
			}
		}
		// Per contracted resident: the board's kept coverage (the same
		// cached snapshot), at a township and above.
		sn, err := s.snapshot(ctx, a, r.ID, p)
		if err != nil {
			return nil, err
		}
		contracted := func(ut *UnitTeams) {
			if ut.Unit.Kind != org.KindVillageClinic {
				ut.Contracted = sn.values[ut.Unit.ID]["family_coverage"].Num
			}
		}
		contracted(&pb.Total)
		for i := range pb.Units {
			if pb.Units[i].Unit.ID != u.ID {
				contracted(&pb.Units[i])
			}
			for j := range pb.Units[i].Teams {
				tp := &pb.Units[i].Teams[j]
				tp.Contracted = sn.values[tp.Institution][teamKey(tp.TeamID)].Num
			}
		}
	}
	ev := audit.New(ctx, a, ActView, 0)
	ev.Detail = fmt.Sprintf("dashboard points unit %d period %s units %d", u.ID, p, len(pb.Units))
	s.Audit.Record(ctx, ev)
	return pb, nil
}

// TeamAwardsPage is the awards behind one team's figure.
type TeamAwardsPage struct {
	Unit     *org.Institution
	Path     []*org.Institution
	Team     TeamPoints // the figure: the kept sum
	Period   Period
	From, To care.Date
	Awards   []TeamAward
	Page     int
	Pages    int
}

// TeamAwards lists the awards behind team's figure at unit over period:
// the team's institution must lie within unit and unit within the
// viewer's scope (otherwise ENOTFOUND, audited as out of scope). The
// listed residents are named and the read audited (ActRecords).
func (s *Service) TeamAwards(ctx context.Context, a care.Actor, unitID, team int64, p Period, page int) (*TeamAwardsPage, error) {
	t, r, u, err := s.scope(ctx, a, unitID)
	if err != nil {
		return nil, err
	}
	from, to, err := s.monthRange(p)
	if err != nil {
		return nil, err
	}
	if s.Points == nil || s.RecordStore == nil {
		return nil, care.Errorf(care.EINTERNAL, "kpi: no store for the points")
	}
	sums, err := s.Points.TeamPointsSums(ctx, a.CountyCode, from, to)
	if err != nil {
		return nil, err
	}
	tp := TeamPoints{}
	for _, x := range sums {
		if x.TeamID == team {
			tp = x
		}
	}
	if tp.TeamID == 0 || !t.IsWithin(tp.Institution, u.ID) {
		ev := audit.New(ctx, a, ActOutOfScope, 0)
		ev.Outcome, ev.Detail = audit.OutcomeDenied, fmt.Sprintf("points team %d not within unit %d", team, u.ID)
		s.Audit.Record(ctx, ev)
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	// Whole months, as the kept sums count them.
	end := time.Date(to.Year, to.Month+1, 0, 0, 0, 0, 0, time.UTC)
	all, err := s.Points.TeamAwards(ctx, a.CountyCode, team, from, care.Date{Year: end.Year(), Month: end.Month(), Day: end.Day()})
	if err != nil {
		return nil, err
	}
	ap := &TeamAwardsPage{Unit: u, Path: path(t, r, u), Team: tp, Period: p, From: from, To: to}
	var lo, hi int
	ap.Page, ap.Pages, lo, hi = pageOf(len(all), page)
	ap.Awards = all[lo:hi]
	ids := make([]int64, len(ap.Awards))
	for i, aw := range ap.Awards {
		ids[i] = aw.ResidentID
	}
	named, err := s.RecordStore.ResidentsByID(ctx, a.CountyCode, ids)
	if err != nil {
		return nil, err
	}
	for i := range ap.Awards {
		w := named[ap.Awards[i].ResidentID]
		ap.Awards[i].Name, ap.Awards[i].IDMasked = w.Name, idcard.Mask(w.IDNumber)
	}
	ev := audit.New(ctx, a, ActRecords, 0)
	ev.Detail = fmt.Sprintf("records points team %d unit %d period %s page %d/%d listed %d residents %v", team, u.ID, p, ap.Page, ap.Pages, len(ids), ids)
	s.Audit.Record(ctx, ev)
	return ap, nil
}

// addTeamContracts keeps each team's residents under contract on the
// period's last day (to) at the team's institution, within the viewer's
// scope: the denominator of the points per contracted resident.
func (s *Service) addTeamContracts(ctx context.Context, a care.Actor, sn *snapshot, t *org.Tree, rootID int64, to care.Date) error {
	if s.Points == nil {
		return nil
	}
	tcs, err := s.Points.TeamContracts(ctx, a.CountyCode, to)
	if err != nil {
		return err
	}
	for _, tc := range tcs {
		if t.IsWithin(tc.Institution, rootID) {
			sn.add(tc.Institution, teamKey(tc.TeamID), Rate{tc.Residents, 0})
		}
	}
	return nil
}
