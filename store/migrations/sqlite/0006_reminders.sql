-- Outbox delivery attempts (notify.Dispatcher).
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error TEXT NOT NULL DEFAULT '';

-- Overdue lists: the scan, the risk sort and the call check read only this
-- index; the registration and resident rows are fetched for the page only.
CREATE INDEX chronic_reg_overdue ON chronic_registrations(clinic_id, status, next_visit, risk, county_code);

-- A registration's year of follow-ups, kept up to date in each visit's
-- transaction: what the management indicators of a calendar year (or the
-- year to date) need, so they are read from one row per patient instead of
-- from every visit. Rebuilt from chronic_visits by a recompute.
CREATE TABLE chronic_years (
    county_code     TEXT    NOT NULL,
    registration_id INTEGER  NOT NULL,
    year            INTEGER  NOT NULL,
    visits          INTEGER  NOT NULL DEFAULT 0,
    face_to_face    INTEGER  NOT NULL DEFAULT 0,
    last_bp_date    TEXT,
    last_sbp        INTEGER  NOT NULL DEFAULT 0,
    last_dbp        INTEGER  NOT NULL DEFAULT 0,
    last_fpg_date   TEXT,
    last_fpg        INTEGER  NOT NULL DEFAULT 0,
    doses_due       INTEGER  NOT NULL DEFAULT 0,
    doses_missed    INTEGER  NOT NULL DEFAULT 0,
    PRIMARY KEY (county_code, registration_id, year)
);
