-- ECG studies sent for reading (issue #5), with the automatic pre-read.

CREATE TABLE ecg_studies (
    id            INTEGER PRIMARY KEY,
    county_code   TEXT    NOT NULL,
    resident_id   INTEGER NOT NULL REFERENCES residents(id),
    clinic_id     INTEGER NOT NULL REFERENCES institutions(id),
    ordered_by    INTEGER NOT NULL,
    center_id     INTEGER NOT NULL REFERENCES institutions(id),
    format        TEXT    NOT NULL,
    file_name     TEXT    NOT NULL DEFAULT '',
    header        BLOB    NOT NULL,
    signal        BLOB    NOT NULL,
    fs            REAL    NOT NULL,
    leads         INTEGER NOT NULL,
    seconds       REAL    NOT NULL,
    heart_rate    REAL    NOT NULL DEFAULT 0,
    findings      TEXT    NOT NULL DEFAULT '',
    priority      INTEGER NOT NULL DEFAULT 0,
    premature     INTEGER NOT NULL DEFAULT 0,
    pauses        INTEGER NOT NULL DEFAULT 0,
    irregular     INTEGER NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL,
    uploaded_at   TEXT    NOT NULL
);
-- The worklist: a center's waiting studies, most urgent pre-read first, then oldest.
CREATE INDEX ecg_studies_worklist ON ecg_studies(county_code, center_id, status, priority DESC, uploaded_at);
CREATE INDEX ecg_studies_resident ON ecg_studies(county_code, resident_id);
