-- Health education and home visits (issue 17, services 4 and 5).
-- edu_sessions: sessions of the national spec's five forms (健康教育服务规范),
-- planned (held_on NULL) then recorded once; edu_attendees the residents
-- named on a session's list (optional: the count is the attendance).
-- edu_prescriptions: the health-education prescription issued with a
-- drug prescription (双处方), a snapshot of the library's advice at its
-- version, so a later edit of the library never changes what was issued.
-- home_visits: a request (送医送护) from a resident or a doctor, scheduled to
-- a family-doctor team member, then done or cancelled; services are
-- comma-separated codes. care_flags: the bedridden and disabled (one row
-- per resident and kind, cleared by deleting it).
CREATE TABLE edu_sessions (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    kind           TEXT    NOT NULL,
    planned_on     TEXT    NOT NULL,
    held_on        TEXT,
    place          TEXT    NOT NULL,
    topic          TEXT    NOT NULL,
    audience       TEXT    NOT NULL DEFAULT '',
    attendance     INTEGER NOT NULL DEFAULT 0,
    materials      TEXT    NOT NULL DEFAULT '',
    created_by     INTEGER NOT NULL,
    recorded_by    INTEGER NOT NULL DEFAULT 0,
    version        INTEGER NOT NULL,
    created_at     TEXT    NOT NULL
);
CREATE INDEX edu_sessions_inst ON edu_sessions(institution_id, planned_on);
CREATE TABLE edu_attendees (
    session_id  INTEGER NOT NULL REFERENCES edu_sessions(id),
    county_code TEXT    NOT NULL,
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    PRIMARY KEY (session_id, resident_id)
);
CREATE INDEX edu_attendees_resident ON edu_attendees(county_code, resident_id);
CREATE TABLE edu_prescriptions (
    prescription_id INTEGER PRIMARY KEY REFERENCES prescriptions(id),
    county_code     TEXT    NOT NULL,
    resident_id     INTEGER NOT NULL,
    institution_id  INTEGER NOT NULL,
    issued_on       TEXT    NOT NULL,
    library_version TEXT    NOT NULL,
    items           TEXT    NOT NULL
);
CREATE INDEX edu_prescriptions_resident ON edu_prescriptions(county_code, resident_id);
CREATE TABLE home_visits (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    resident_id    INTEGER NOT NULL REFERENCES residents(id),
    village_id     INTEGER NOT NULL,
    reason         TEXT    NOT NULL,
    requested_by   INTEGER NOT NULL,
    by_resident    INTEGER NOT NULL DEFAULT 0,
    requested_at   TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    team_id        INTEGER NOT NULL DEFAULT 0,
    practitioner_id INTEGER NOT NULL DEFAULT 0,
    scheduled_on   TEXT,
    scheduled_at   TEXT,
    visited_on     TEXT,
    services       TEXT    NOT NULL DEFAULT '',
    sbp            INTEGER NOT NULL DEFAULT 0,
    dbp            INTEGER NOT NULL DEFAULT 0,
    pulse          INTEGER NOT NULL DEFAULT 0,
    temp_dc        INTEGER NOT NULL DEFAULT 0,
    glucose_dmmol  INTEGER NOT NULL DEFAULT 0,
    note           TEXT    NOT NULL DEFAULT '',
    cancel_reason  TEXT    NOT NULL DEFAULT '',
    closed_by      INTEGER NOT NULL DEFAULT 0,
    version        INTEGER NOT NULL
);
CREATE UNIQUE INDEX home_visits_open ON home_visits(county_code, resident_id) WHERE status IN ('requested', 'scheduled');
CREATE INDEX home_visits_village ON home_visits(village_id, status);
CREATE INDEX home_visits_resident ON home_visits(county_code, resident_id);
CREATE TABLE care_flags (
    county_code TEXT    NOT NULL,
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    kind        TEXT    NOT NULL,
    village_id  INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    set_by      INTEGER NOT NULL,
    set_at      TEXT    NOT NULL,
    PRIMARY KEY (resident_id, kind)
);
CREATE INDEX care_flags_village ON care_flags(village_id, kind);
