-- Household screening for the "2+3" diseases (issue 17): a township's
-- campaigns over its villages, the measurements village doctors record,
-- and the suspected cases routed to the township for confirmation.
-- diseases and villages are comma-separated; results is "disease=result"
-- pairs. A resident has at most one pending case per disease; the
-- township's follow-up list reads screening_cases_pending.
CREATE TABLE screening_campaigns (
    id          INTEGER PRIMARY KEY,
    county_code TEXT    NOT NULL,
    township_id INTEGER NOT NULL REFERENCES institutions(id),
    name        TEXT    NOT NULL,
    diseases    TEXT    NOT NULL,
    villages    TEXT    NOT NULL,
    min_age     INTEGER NOT NULL,
    starts_on   TEXT    NOT NULL,
    ends_on     TEXT    NOT NULL,
    created_by  INTEGER NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE INDEX screening_campaigns_township ON screening_campaigns(county_code, township_id, starts_on);
CREATE TABLE screening_measurements (
    id          INTEGER PRIMARY KEY,
    county_code TEXT    NOT NULL,
    campaign_id INTEGER NOT NULL REFERENCES screening_campaigns(id),
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    village_id  INTEGER NOT NULL,
    date        TEXT    NOT NULL,
    sbp1        INTEGER NOT NULL DEFAULT 0,
    dbp1        INTEGER NOT NULL DEFAULT 0,
    sbp2        INTEGER NOT NULL DEFAULT 0,
    dbp2        INTEGER NOT NULL DEFAULT 0,
    glucose     INTEGER NOT NULL DEFAULT 0,
    meal_hours  INTEGER NOT NULL DEFAULT 0,
    cough_days  INTEGER NOT NULL DEFAULT 0,
    haemoptysis INTEGER NOT NULL DEFAULT 0,
    bp_raised   INTEGER NOT NULL DEFAULT 0,
    results     TEXT    NOT NULL DEFAULT '',
    by_account  INTEGER NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE UNIQUE INDEX screening_measurements_day ON screening_measurements(campaign_id, resident_id, date);
CREATE INDEX screening_measurements_village ON screening_measurements(campaign_id, village_id);
CREATE TABLE screening_cases (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    resident_id     INTEGER NOT NULL REFERENCES residents(id),
    village_id      INTEGER NOT NULL,
    township_id     INTEGER NOT NULL,
    disease         TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    campaign_id     INTEGER NOT NULL DEFAULT 0,
    rule            TEXT    NOT NULL,
    detail          TEXT    NOT NULL DEFAULT '',
    suspected_on    TEXT    NOT NULL,
    due_on          TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    closed_on       TEXT,
    closed_by       INTEGER NOT NULL DEFAULT 0,
    reason          TEXT    NOT NULL DEFAULT '',
    registration_id INTEGER NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL,
    created_at      TEXT    NOT NULL
);
CREATE UNIQUE INDEX screening_cases_one_pending ON screening_cases(county_code, resident_id, disease) WHERE status = 'pending';
CREATE INDEX screening_cases_pending ON screening_cases(township_id, due_on) WHERE status = 'pending';
CREATE INDEX screening_cases_resident ON screening_cases(county_code, resident_id);
CREATE INDEX screening_cases_campaign ON screening_cases(campaign_id, village_id) WHERE campaign_id <> 0;
