-- Family-doctor points kept per team for the dashboard (issue 14 §1:
-- points): per county, month (YYYY-MM of the day the event happened) and
-- family-doctor team (with the team's institution), the awards and the
-- points they earned. An award counts for the team whose contract covered
-- the resident on the day of the event (the latest contract starting on
-- or before it that had neither expired nor been ended before it);
-- only the services' points are a team's (checkup, follow_up, home_visit,
-- education, rehab): not redemptions, not a resident's own steps or
-- reading, not awards to residents without such a contract. Each award adds one (store.keepTeamPoints, in the award's
-- transaction); a bulk load rebuilds it (store.teamPointsRebuild, the same
-- SQL as below, TestTeamPointsRebuild).
CREATE TABLE points_team (
    county_code    TEXT    NOT NULL,
    month          TEXT    NOT NULL,  -- YYYY-MM
    team_id        BIGINT  NOT NULL,
    institution_id BIGINT  NOT NULL,
    awards         BIGINT  NOT NULL,
    points         BIGINT  NOT NULL,
    PRIMARY KEY (county_code, month, team_id)
);
CREATE INDEX points_team_institution ON points_team(county_code, institution_id, month);
INSERT INTO points_team (county_code, month, team_id, institution_id, awards, points)
	SELECT l.county_code, to_char(l.occurred_on, 'YYYY-MM'), c.team_id, t.institution_id, COUNT(*), SUM(l.points)
	FROM points_ledger l JOIN family_contracts c ON c.id = (SELECT c2.id FROM family_contracts c2 WHERE c2.county_code = l.county_code AND c2.resident_id = l.resident_id
		AND c2.start_date <= l.occurred_on AND c2.end_date >= l.occurred_on AND (c2.ended_on IS NULL OR c2.ended_on >= l.occurred_on)
		ORDER BY c2.start_date DESC, c2.id DESC LIMIT 1)
	JOIN family_teams t ON t.id = c.team_id
	WHERE l.points > 0 AND l.rule IN ('checkup', 'follow_up', 'home_visit', 'education', 'rehab')
	GROUP BY l.county_code, to_char(l.occurred_on, 'YYYY-MM'), c.team_id, t.institution_id;
