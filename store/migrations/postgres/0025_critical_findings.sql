-- A signed report's critical finding is alerted per finding, not per study
-- (issue 18): an addendum with a different critical finding raised nothing
-- because the alert was keyed by the study alone. finding_key is the
-- finding's text as signed (reading reports' critical_text); '' for the
-- sources that have one value per id (lab results, fetal traces). The same
-- finding signed twice still raises once.
ALTER TABLE critical_alerts ADD COLUMN finding_key TEXT NOT NULL DEFAULT '';
-- The alerts raised so far from reading reports were raised for the first
-- critical report of their study.
UPDATE critical_alerts a SET finding_key = COALESCE((SELECT rr.critical_text FROM reading_reports rr
    WHERE rr.county_code = a.county_code AND rr.study_id = a.source_id AND rr.critical
    ORDER BY rr.signed_at, rr.id LIMIT 1), '')
  WHERE a.source_kind IN ('ecg_report', 'imaging_report', 'photo_report', 'fetal_report');
DROP INDEX critical_alerts_source;
CREATE UNIQUE INDEX critical_alerts_source ON critical_alerts(county_code, source_kind, source_id, finding_key);
