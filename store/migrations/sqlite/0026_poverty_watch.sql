-- The watch on households falling back into poverty through illness
-- (issue 14 §3; povertywatch). household_costs is each household's
-- out-of-pocket medical spending per year, kept incrementally: every
-- settlement, correction, reversal and resettlement of a member rewrites
-- the household's row in its own transaction (store.refreshHouseholdCost),
-- so the watch list never sums raw bills on a page view.
CREATE TABLE household_costs (
    county_code   TEXT    NOT NULL,
    household_id  INTEGER NOT NULL REFERENCES households(id),
    year          INTEGER NOT NULL,
    total_oop     INTEGER NOT NULL,
    in_policy_oop INTEGER NOT NULL,
    bills         INTEGER NOT NULL,
    updated_at    TEXT    NOT NULL,
    PRIMARY KEY (county_code, household_id, year)
);
CREATE INDEX household_costs_total ON household_costs(county_code, year, total_oop);
CREATE INDEX household_costs_in_policy ON household_costs(county_code, year, in_policy_oop);
-- A household's yearly income as recorded by the insurance office (fen).
CREATE TABLE household_incomes (
    county_code  TEXT    NOT NULL,
    household_id INTEGER NOT NULL REFERENCES households(id),
    year         INTEGER NOT NULL,
    income       INTEGER NOT NULL,
    recorded_by  INTEGER NOT NULL REFERENCES accounts(id),
    recorded_at  TEXT    NOT NULL,
    PRIMARY KEY (county_code, household_id, year)
);
-- One alert per household and year, raised when it crosses its line;
-- handled_at is set by the first action recorded.
CREATE TABLE poverty_watch_alerts (
    id           INTEGER PRIMARY KEY,
    county_code  TEXT    NOT NULL,
    household_id INTEGER NOT NULL REFERENCES households(id),
    year         INTEGER NOT NULL,
    spent        INTEGER NOT NULL,
    threshold    INTEGER NOT NULL,
    by_income    INTEGER NOT NULL DEFAULT 0,
    raised_at    TEXT    NOT NULL,
    handled_at   TEXT,
    UNIQUE (county_code, household_id, year)
);
CREATE TABLE poverty_watch_actions (
    id           INTEGER PRIMARY KEY,
    county_code  TEXT    NOT NULL,
    household_id INTEGER NOT NULL REFERENCES households(id),
    year         INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    note         TEXT    NOT NULL DEFAULT '',
    created_by   INTEGER NOT NULL REFERENCES accounts(id),
    created_at   TEXT    NOT NULL
);
CREATE INDEX poverty_watch_actions_household ON poverty_watch_actions(county_code, household_id, year, id);
-- The years already settled.
INSERT INTO household_costs (county_code, household_id, year, total_oop, in_policy_oop, bills, updated_at)
SELECT s.county_code, r.household_id, s.year, SUM(s.patient),
       SUM(CASE WHEN s.eligible - s.basic - s.critical - s.assistance - s.supplementary - s.bottom_line > 0
                THEN s.eligible - s.basic - s.critical - s.assistance - s.supplementary - s.bottom_line ELSE 0 END),
       COUNT(*), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
  FROM settlements s JOIN residents r ON r.id = s.resident_id
 WHERE s.status = 'settled' AND r.household_id IS NOT NULL
 GROUP BY s.county_code, r.household_id, s.year;
-- Major-illness special treatment (大病专项救治): poor patients enrolled
-- for a listed disease at a designated hospital, followed to the end.
-- At most one open case per resident and disease.
CREATE TABLE special_treatments (
    id           INTEGER PRIMARY KEY,
    county_code  TEXT    NOT NULL,
    resident_id  INTEGER NOT NULL REFERENCES residents(id),
    disease      TEXT    NOT NULL,
    diagnosis    TEXT    NOT NULL,
    hospital_id  INTEGER NOT NULL REFERENCES institutions(id),
    status       TEXT    NOT NULL,
    note         TEXT    NOT NULL DEFAULT '',
    enrolled_at  TEXT    NOT NULL,
    started_at   TEXT,
    closed_at    TEXT,
    created_by   INTEGER NOT NULL REFERENCES accounts(id),
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX special_treatments_open ON special_treatments(county_code, resident_id, disease) WHERE status IN ('enrolled', 'treating');
CREATE INDEX special_treatments_county ON special_treatments(county_code, id);
