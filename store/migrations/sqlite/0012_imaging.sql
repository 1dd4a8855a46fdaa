-- DICOM instances sent for reading (issue #5, imaging): the file as
-- uploaded, the metadata it is filed under, the "cannot preview" notice and
-- the patient-mismatch flag. Numbered 0012 on branch dicom; renumber to the
-- next free number when merging (the runner needs contiguous numbers).

CREATE TABLE imaging_instances (
    id                INTEGER PRIMARY KEY,
    county_code       TEXT    NOT NULL,
    resident_id       INTEGER NOT NULL REFERENCES residents(id),
    clinic_id         INTEGER NOT NULL REFERENCES institutions(id),
    ordered_by        INTEGER NOT NULL,
    center_id         INTEGER NOT NULL REFERENCES institutions(id),
    file_name         TEXT    NOT NULL DEFAULT '',
    study_uid         TEXT    NOT NULL,
    series_uid        TEXT    NOT NULL DEFAULT '',
    sop_uid           TEXT    NOT NULL,
    modality          TEXT    NOT NULL DEFAULT '',
    study_date        TEXT    NOT NULL DEFAULT '',
    accession         TEXT    NOT NULL DEFAULT '',
    file_patient_name TEXT    NOT NULL DEFAULT '',
    file_patient_id   TEXT    NOT NULL DEFAULT '',
    mismatch          TEXT    NOT NULL DEFAULT '',
    transfer_syntax   TEXT    NOT NULL,
    rows_n            INTEGER NOT NULL DEFAULT 0,
    columns_n         INTEGER NOT NULL DEFAULT 0,
    frames            INTEGER NOT NULL DEFAULT 1,
    no_preview        TEXT    NOT NULL DEFAULT '',
    size              INTEGER NOT NULL,
    file              BLOB    NOT NULL,
    status            TEXT    NOT NULL,
    uploaded_at       TEXT    NOT NULL
);
CREATE UNIQUE INDEX imaging_instances_sop ON imaging_instances(county_code, sop_uid);
CREATE INDEX imaging_instances_study ON imaging_instances(county_code, study_uid);
CREATE INDEX imaging_instances_resident ON imaging_instances(county_code, resident_id, uploaded_at);
CREATE INDEX imaging_instances_worklist ON imaging_instances(county_code, center_id, status, uploaded_at);
