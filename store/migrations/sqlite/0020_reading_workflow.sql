-- The reading workflow (issue #5): one row per study to read — an ECG
-- study, or the instances of one imaging study (StudyInstanceUID) — keyed
-- by kind + source key, entered in the upload transaction; claims guarded
-- by version; the turnaround due time stored durably; signed reports and
-- addenda that are never updated.

CREATE TABLE reading_studies (
    id           INTEGER PRIMARY KEY,
    county_code  TEXT    NOT NULL,
    kind         TEXT    NOT NULL,             -- ecg | imaging | …
    source_key   TEXT    NOT NULL,             -- ecg_studies.id, or the StudyInstanceUID
    modality     TEXT    NOT NULL,
    resident_id  INTEGER NOT NULL REFERENCES residents(id),
    clinic_id    INTEGER NOT NULL REFERENCES institutions(id),
    ordered_by   INTEGER NOT NULL,
    center_id    INTEGER NOT NULL REFERENCES institutions(id),
    urgent       INTEGER NOT NULL DEFAULT 0,
    priority     INTEGER NOT NULL DEFAULT 0,
    preread      TEXT    NOT NULL DEFAULT '',
    findings     TEXT    NOT NULL DEFAULT '',  -- pre-read findings, comma-separated (ECG)
    heart_rate   REAL    NOT NULL DEFAULT 0,
    status       TEXT    NOT NULL,             -- waiting | claimed | reported
    claimed_by   INTEGER NOT NULL DEFAULT 0,
    claimed_name TEXT    NOT NULL DEFAULT '',
    claimed_at   TEXT,
    uploaded_at  TEXT    NOT NULL,
    due_at       TEXT    NOT NULL,
    escalations  INTEGER NOT NULL DEFAULT 0,
    breached_at  TEXT,
    reported_at  TEXT,
    reported_by  INTEGER NOT NULL DEFAULT 0,
    reported_name TEXT   NOT NULL DEFAULT '',  -- the signer, and the report's conclusion, for indicators without a join
    report_normal INTEGER NOT NULL DEFAULT 0,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX reading_studies_source ON reading_studies(county_code, kind, source_key);
-- The worklist: a center's open studies, urgent first, then pre-read priority, then oldest.
CREATE INDEX reading_studies_worklist ON reading_studies(county_code, center_id, status, urgent DESC, priority DESC, uploaded_at);
-- The scheduler: open studies by due time.
CREATE INDEX reading_studies_due ON reading_studies(due_at) WHERE status <> 'reported';
CREATE INDEX reading_studies_clinic ON reading_studies(county_code, clinic_id, reported_at);
CREATE INDEX reading_studies_resident ON reading_studies(county_code, resident_id);
CREATE INDEX reading_studies_period ON reading_studies(county_code, uploaded_at);

CREATE TABLE reading_reports (
    id            INTEGER PRIMARY KEY,
    county_code   TEXT    NOT NULL,
    study_id      INTEGER NOT NULL REFERENCES reading_studies(id),
    resident_id   INTEGER NOT NULL REFERENCES residents(id),
    kind          TEXT    NOT NULL,            -- report | addendum
    parent_id     INTEGER NOT NULL DEFAULT 0,  -- the report an addendum adds to
    template      TEXT    NOT NULL,
    fields        TEXT    NOT NULL,            -- JSON object field → value
    normal        INTEGER NOT NULL DEFAULT 0,
    critical      INTEGER NOT NULL DEFAULT 0,
    critical_text TEXT    NOT NULL DEFAULT '',
    signed_by     INTEGER NOT NULL,
    signer_name   TEXT    NOT NULL,
    signed_at     TEXT    NOT NULL,
    seal          TEXT    NOT NULL
);
CREATE INDEX reading_reports_study ON reading_reports(county_code, study_id);
-- One signed report per study; addenda are further rows.
CREATE UNIQUE INDEX reading_reports_one ON reading_reports(study_id) WHERE kind = 'report';
