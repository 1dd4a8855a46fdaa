package store

import (
	"context"
	"fmt"

	"countycare/care"
	"countycare/kpi"
	"countycare/points"
)

// Family-doctor points kept per team for the dashboard (issue 14 §1,
// table points_team, migration 0058): per county, month of the event and
// team, the awards and their points. An award is the team's whose
// contract covered the resident on the day of the event (teamContractSQL);
// redemptions and awards to residents without a contract are no team's.
// Each award adds one in its own transaction (insertPoints →
// keepTeamPoints); the migration and a bulk load (afterBulk) build the
// table from the ledger with the same rule (teamPointsRebuild,
// TestTeamPointsRebuild); the drill-down lists the awards by the same rule
// (TeamAwards), so its count is the figure's.

// teamRulesSQL: the rules whose points are a team's — the services the
// family doctors deliver (docs/points.md), not the residents' own reports
// of steps and reading, not redemptions.
const teamRulesSQL = `l.rule IN ('checkup', 'follow_up', 'home_visit', 'education', 'rehab')`

// teamRule reports whether rule r's points are a team's (teamRulesSQL).
func teamRule(r points.Rule) bool {
	switch r {
	case points.Checkup, points.FollowUp, points.HomeVisit, points.Education, points.Rehab:
		return true
	}
	return false
}

// teamContractSQL selects the contract that covered ledger row l's
// resident on its day: the latest started on or before it, not expired
// and not ended before it.
const teamContractSQL = `(SELECT c2.id FROM family_contracts c2 WHERE c2.county_code = l.county_code AND c2.resident_id = l.resident_id
	AND c2.start_date <= l.occurred_on AND c2.end_date >= l.occurred_on AND (c2.ended_on IS NULL OR c2.ended_on >= l.occurred_on)
	ORDER BY c2.start_date DESC, c2.id DESC LIMIT 1)`

// pointsMonth is the month (YYYY-MM) of ledger row l's day, per dialect.
func (s *Store) pointsMonth() string {
	if s.dialect == Postgres {
		return `to_char(l.occurred_on, 'YYYY-MM')`
	}
	return `substr(l.occurred_on, 1, 7)`
}

// keepTeamPoints counts ledger row id (just inserted, in tx) for the team
// whose contract covered its resident on its day, if any; a redemption
// and a resident's own report count for no team.
func (s *Store) keepTeamPoints(ctx context.Context, tx db, id int64, e *points.Entry) error {
	if e.Points <= 0 || !teamRule(e.Rule) {
		return nil
	}
	_, err := tx.exec(ctx, `INSERT INTO points_team (county_code, month, team_id, institution_id, awards, points)
		SELECT l.county_code, `+s.pointsMonth()+`, c.team_id, t.institution_id, 1, l.points
		FROM points_ledger l JOIN family_contracts c ON c.id = `+teamContractSQL+` JOIN family_teams t ON t.id = c.team_id
		WHERE l.id = ? AND `+teamRulesSQL+`
		ON CONFLICT (county_code, month, team_id) DO UPDATE SET awards = points_team.awards + 1, points = points_team.points + excluded.points`, id)
	return wrap("store.keepTeamPoints", err)
}

// teamPointsRebuild is the SQL that builds points_team from the ledger
// (as migration 0058 does).
func (s *Store) teamPointsRebuild() []string {
	m := s.pointsMonth()
	return []string{
		`DELETE FROM points_team`,
		`INSERT INTO points_team (county_code, month, team_id, institution_id, awards, points)
			SELECT l.county_code, ` + m + `, c.team_id, t.institution_id, COUNT(*), SUM(l.points)
			FROM points_ledger l JOIN family_contracts c ON c.id = ` + teamContractSQL + ` JOIN family_teams t ON t.id = c.team_id
			WHERE l.points > 0 AND ` + teamRulesSQL + `
			GROUP BY l.county_code, ` + m + `, c.team_id, t.institution_id`,
	}
}

// RebuildTeamPoints builds the kept team points afresh from the ledger.
func (s *Store) RebuildTeamPoints(ctx context.Context) error {
	return s.Transact(ctx, func(tx db) error { return s.rebuildTeamPointsTx(ctx, tx) })
}

func (s *Store) rebuildTeamPointsTx(ctx context.Context, tx db) error {
	for _, q := range s.teamPointsRebuild() {
		if _, err := tx.exec(ctx, q); err != nil {
			return wrap("store.RebuildTeamPoints", err)
		}
	}
	return nil
}

// TeamPointsSums returns the kept points of every team of the county over
// the months from from's to to's, with the team's name and institution
// (kpi.TeamPointsSource). Teams without an award are left out.
func (s *Store) TeamPointsSums(ctx context.Context, county string, from, to care.Date) ([]kpi.TeamPoints, error) {
	const op = "store.TeamPointsSums"
	rows, err := s.read().query(ctx, `SELECT p.team_id, t.name, p.institution_id, SUM(p.awards), SUM(p.points) FROM points_team p
		JOIN family_teams t ON t.id = p.team_id
		WHERE p.county_code = ? AND p.month >= ? AND p.month <= ? GROUP BY p.team_id, t.name, p.institution_id ORDER BY p.institution_id, p.team_id`,
		county, fmt.Sprintf("%04d-%02d", from.Year, from.Month), fmt.Sprintf("%04d-%02d", to.Year, to.Month))
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []kpi.TeamPoints
	for rows.Next() {
		var tp kpi.TeamPoints
		if err := rows.Scan(&tp.TeamID, &tp.Name, &tp.Institution, &tp.Awards, &tp.Points); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, tp)
	}
	return out, wrap(op, rows.Err())
}

// TeamContracts counts each team's residents under contract on day
// (kpi.TeamPointsSource): the rule of the family_coverage numerator
// (family.Contract.Covers, residents active, each counted once per team).
func (s *Store) TeamContracts(ctx context.Context, county string, day care.Date) ([]kpi.TeamContracted, error) {
	const op = "store.TeamContracts"
	rows, err := s.read().query(ctx, `SELECT c.team_id, t.institution_id, COUNT(DISTINCT c.resident_id) FROM family_contracts c
		JOIN family_teams t ON t.id = c.team_id JOIN residents r ON r.id = c.resident_id
		WHERE c.county_code = ? AND r.status = 'active' AND c.start_date <= ? AND c.end_date >= ? AND (c.ended_on IS NULL OR c.ended_on > ?)
		GROUP BY c.team_id, t.institution_id ORDER BY c.team_id`, county, day, day, day)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []kpi.TeamContracted
	for rows.Next() {
		var tc kpi.TeamContracted
		if err := rows.Scan(&tc.TeamID, &tc.Institution, &tc.Residents); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, tc)
	}
	return out, wrap(op, rows.Err())
}

// TeamAwards returns the awards behind a team's kept points over the days
// [from, to], newest first: the ledger rows the team's figure counts (the
// same rule as keepTeamPoints).
func (s *Store) TeamAwards(ctx context.Context, county string, team int64, from, to care.Date) ([]kpi.TeamAward, error) {
	const op = "store.TeamAwards"
	rows, err := s.read().query(ctx, `SELECT l.id, l.resident_id, l.rule, l.points, l.occurred_on FROM points_ledger l
		JOIN family_contracts c ON c.id = `+teamContractSQL+`
		WHERE l.county_code = ? AND c.team_id = ? AND l.points > 0 AND `+teamRulesSQL+` AND l.occurred_on >= ? AND l.occurred_on <= ?
		ORDER BY l.occurred_on DESC, l.id DESC`, county, team, from, to)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []kpi.TeamAward
	for rows.Next() {
		var a kpi.TeamAward
		if err := rows.Scan(&a.ID, &a.ResidentID, &a.Rule, &a.Points, &a.On); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, a)
	}
	return out, wrap(op, rows.Err())
}
