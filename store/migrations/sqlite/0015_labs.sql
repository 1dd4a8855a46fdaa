-- Lab results, clinic photos, fetal heart traces and critical-value alerts
-- (issue #5).

CREATE TABLE lab_results (
    id            INTEGER PRIMARY KEY,
    county_code   TEXT    NOT NULL,
    resident_id   INTEGER NOT NULL REFERENCES residents(id),
    clinic_id     INTEGER NOT NULL REFERENCES institutions(id),
    ordered_by    INTEGER NOT NULL,
    doctor        TEXT    NOT NULL DEFAULT '',
    analyte       TEXT    NOT NULL,
    loinc         TEXT    NOT NULL DEFAULT '',
    local_code    TEXT    NOT NULL DEFAULT '',
    value         REAL    NOT NULL,
    unit          TEXT    NOT NULL,
    value_si      REAL    NOT NULL,
    unit_si       TEXT    NOT NULL,
    ref_low       REAL,
    ref_high      REAL,
    flag          TEXT    NOT NULL DEFAULT '',
    specimen      TEXT    NOT NULL DEFAULT '',
    device        TEXT    NOT NULL DEFAULT '',
    collected_at  TEXT    NOT NULL,
    resulted_at   TEXT    NOT NULL,
    created_at    TEXT    NOT NULL
);
CREATE INDEX lab_results_resident ON lab_results(county_code, resident_id, collected_at);

CREATE TABLE photo_studies (
    id           INTEGER PRIMARY KEY,
    county_code  TEXT    NOT NULL,
    resident_id  INTEGER NOT NULL REFERENCES residents(id),
    clinic_id    INTEGER NOT NULL REFERENCES institutions(id),
    ordered_by   INTEGER NOT NULL,
    center_id    INTEGER NOT NULL REFERENCES institutions(id),
    kind         TEXT    NOT NULL,
    device       TEXT    NOT NULL DEFAULT '',
    file_name    TEXT    NOT NULL DEFAULT '',
    content_type TEXT    NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    file         BLOB    NOT NULL,
    status       TEXT    NOT NULL,
    uploaded_at  TEXT    NOT NULL
);
CREATE INDEX photo_studies_resident ON photo_studies(county_code, resident_id, uploaded_at);
CREATE INDEX photo_studies_worklist ON photo_studies(county_code, center_id, status, uploaded_at);

CREATE TABLE fetal_traces (
    id            INTEGER PRIMARY KEY,
    county_code   TEXT    NOT NULL,
    resident_id   INTEGER NOT NULL REFERENCES residents(id),
    clinic_id     INTEGER NOT NULL REFERENCES institutions(id),
    ordered_by    INTEGER NOT NULL,
    center_id     INTEGER NOT NULL REFERENCES institutions(id),
    device        TEXT    NOT NULL DEFAULT '',
    file_name     TEXT    NOT NULL DEFAULT '',
    csv           BLOB    NOT NULL,
    seconds       REAL    NOT NULL,
    baseline      REAL    NOT NULL,
    variability   REAL    NOT NULL,
    flags         TEXT    NOT NULL DEFAULT '',
    priority      INTEGER NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL,
    uploaded_at   TEXT    NOT NULL
);
CREATE INDEX fetal_traces_resident ON fetal_traces(county_code, resident_id, uploaded_at);
CREATE INDEX fetal_traces_worklist ON fetal_traces(county_code, center_id, status, priority, uploaded_at);

-- 危急值: one alert per source (a lab result, a signed report …).
CREATE TABLE critical_alerts (
    id              INTEGER PRIMARY KEY,
    county_code     TEXT    NOT NULL,
    source_kind     TEXT    NOT NULL,
    source_id       INTEGER NOT NULL,
    resident_id     INTEGER NOT NULL REFERENCES residents(id),
    clinic_id       INTEGER NOT NULL REFERENCES institutions(id),
    ordered_by      INTEGER NOT NULL,
    township_id     INTEGER NOT NULL DEFAULT 0,
    county_id       INTEGER NOT NULL DEFAULT 0,
    finding         TEXT    NOT NULL,
    value           TEXT    NOT NULL DEFAULT '',
    raised_by       INTEGER NOT NULL,
    raised_at       TEXT    NOT NULL,
    ack_at          TEXT,
    ack_by          INTEGER,
    ack_note        TEXT    NOT NULL DEFAULT '',
    level           INTEGER NOT NULL DEFAULT 0,
    escalated_at    TEXT,
    next_due_at     TEXT
);
CREATE UNIQUE INDEX critical_alerts_source ON critical_alerts(county_code, source_kind, source_id);
CREATE INDEX critical_alerts_due ON critical_alerts(next_due_at) WHERE ack_at IS NULL;
CREATE INDEX critical_alerts_clinic ON critical_alerts(county_code, clinic_id, raised_at);
CREATE INDEX critical_alerts_resident ON critical_alerts(county_code, resident_id);
