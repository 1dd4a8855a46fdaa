-- Elderly health management (issue 17): the yearly check-up of residents
-- aged 65+ on the spec's 健康体检表, one a year (UNIQUE county, resident,
-- year). form is the whole form as typed (JSON: symptoms, exam, lifestyle,
-- labs, guidance, TCM answers) and tcm the constitution result (JSON);
-- the columns beside it are what lists and rules read. findings and
-- suspected are comma-separated codes; managed_by is the resident's
-- village when recorded.
CREATE TABLE elderly_checkups (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    resident_id     INTEGER NOT NULL REFERENCES residents(id),
    managed_by      INTEGER NOT NULL,
    year            INTEGER NOT NULL,
    date            TEXT    NOT NULL,
    sbp             INTEGER NOT NULL,
    dbp             INTEGER NOT NULL,
    bmi_x10         INTEGER NOT NULL,
    self_care_score INTEGER NOT NULL,
    self_care_grade TEXT    NOT NULL,
    findings        TEXT    NOT NULL DEFAULT '',
    suspected       TEXT    NOT NULL DEFAULT '',
    tcm_types       TEXT    NOT NULL DEFAULT '',
    form            TEXT    NOT NULL,
    tcm             TEXT    NOT NULL DEFAULT '',
    clinic_id       INTEGER NOT NULL,
    by_account      INTEGER NOT NULL,
    created_at      TEXT    NOT NULL
);
CREATE UNIQUE INDEX elderly_checkups_resident ON elderly_checkups(county_code, resident_id, year);
-- The roster (store.ElderlyRoster) reads only indexes: the residents 65+
-- of a village with their status, and each one's last check-up date.
CREATE INDEX elderly_checkups_last ON elderly_checkups(county_code, resident_id, date);
CREATE INDEX residents_village_status ON residents(village_id, birth_date, status, county_code);
CREATE INDEX elderly_checkups_suspected ON elderly_checkups(managed_by, date) WHERE suspected <> '';
