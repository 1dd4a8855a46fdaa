-- DICOMweb (issue #5, PS3.18): one row per imaging study, kept in the same
-- transaction as its instances, for QIDO-RS study searches; the series and
-- instance attributes QIDO-RS returns; and the credentials of machine
-- clients (modalities, gateways, Orthanc) bound to an institution.

ALTER TABLE imaging_instances ADD COLUMN sop_class_uid TEXT NOT NULL DEFAULT '';
ALTER TABLE imaging_instances ADD COLUMN series_number TEXT NOT NULL DEFAULT '';
ALTER TABLE imaging_instances ADD COLUMN series_description TEXT NOT NULL DEFAULT '';
ALTER TABLE imaging_instances ADD COLUMN instance_number TEXT NOT NULL DEFAULT '';
-- The DICOMweb device (dicomweb_clients.id) that pushed the instance; 0 for uploads from the page.
ALTER TABLE imaging_instances ADD COLUMN device_id INTEGER NOT NULL DEFAULT 0;
CREATE INDEX imaging_instances_series ON imaging_instances(county_code, study_uid, series_uid);

CREATE TABLE imaging_studies (
    id             INTEGER PRIMARY KEY,
    county_code    TEXT    NOT NULL,
    study_uid      TEXT    NOT NULL,
    resident_id    INTEGER NOT NULL REFERENCES residents(id),
    clinic_id      INTEGER NOT NULL,
    center_id      INTEGER NOT NULL,
    patient_name   TEXT    NOT NULL DEFAULT '',
    name_key       TEXT    NOT NULL DEFAULT '',
    name_alpha     TEXT NOT NULL DEFAULT '',
    name_ideo      TEXT NOT NULL DEFAULT '',
    patient_id     TEXT    NOT NULL DEFAULT '',
    birth_date     TEXT    NOT NULL DEFAULT '',
    sex            TEXT    NOT NULL DEFAULT '',
    study_date     TEXT    NOT NULL DEFAULT '',
    study_time     TEXT    NOT NULL DEFAULT '',
    accession      TEXT    NOT NULL DEFAULT '',
    study_id       TEXT    NOT NULL DEFAULT '',
    description    TEXT    NOT NULL DEFAULT '',
    referring      TEXT    NOT NULL DEFAULT '',
    modalities     TEXT    NOT NULL DEFAULT '',
    series_count   INTEGER NOT NULL DEFAULT 0,
    instance_count INTEGER NOT NULL DEFAULT 0,
    updated_at     TEXT    NOT NULL
);
CREATE UNIQUE INDEX imaging_studies_uid ON imaging_studies(county_code, study_uid);
-- The scope indexes carry name_key and modalities so that wildcard and
-- modality filters are checked in the index before a row is read.
CREATE INDEX imaging_studies_clinic ON imaging_studies(county_code, clinic_id, study_date, id, name_key, modalities);
CREATE INDEX imaging_studies_center ON imaging_studies(county_code, center_id, study_date, id, name_key, modalities);
-- PatientName matching: a pattern's text before its first wildcard is a
-- range on the alphabetic or ideographic group (bytewise order).
CREATE INDEX imaging_studies_name_alpha ON imaging_studies(county_code, name_alpha);
CREATE INDEX imaging_studies_name_ideo ON imaging_studies(county_code, name_ideo);
CREATE INDEX imaging_studies_pid ON imaging_studies(county_code, patient_id);
CREATE INDEX imaging_studies_accession ON imaging_studies(county_code, accession);
CREATE INDEX imaging_studies_resident ON imaging_studies(county_code, resident_id);

CREATE TABLE dicomweb_clients (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    county_code    TEXT    NOT NULL,
    institution_id INTEGER NOT NULL REFERENCES institutions(id),
    center_id      INTEGER NOT NULL REFERENCES institutions(id),
    secret_hash    TEXT    NOT NULL,
    created_by     INTEGER NOT NULL,
    created_at     TEXT    NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX dicomweb_clients_name ON dicomweb_clients(name);
