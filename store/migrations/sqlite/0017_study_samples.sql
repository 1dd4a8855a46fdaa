-- Samples stored once (issue #5, viewers): an ECG study's signal or a
-- DICOM instance's file may refer by SHA-256 to the content-addressed
-- blobs table of migration 0007 (per county) instead of carrying its own
-- copy; the demo files one year of studies on a few dozen real samples.
-- An empty hash keeps the bytes inline as before.

ALTER TABLE ecg_studies ADD COLUMN signal_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE imaging_instances ADD COLUMN file_hash TEXT NOT NULL DEFAULT '';
-- The viewer's "previous study of the same modality".
CREATE INDEX imaging_instances_previous ON imaging_instances(county_code, resident_id, modality, study_date);
