-- The reading centers' turnaround kept for the dashboard (issue 14 §1:
-- turnaround median and p90 per center and period, kept incrementally):
-- per county, month (China time, of the signing or of the lab result),
-- institution (the center that read the study; the lab result's
-- institution), kind (ecg, imaging, photo, fetal, lab) and bucket of whole
-- minutes (kpi.TurnaroundBucket: 1-minute buckets below an hour, 5 below
-- four hours, 30 below a day, 240 below a week, one for a week and more),
-- the number of reports. Each signed report and lab result adds one
-- (store.keepTurnaround); the dashboard reads a period's quantiles from
-- the summed buckets, never from the studies. Built here from the rows
-- already reported, with the same buckets (store.turnaroundRebuild,
-- TestTurnaroundRebuild).
CREATE TABLE reading_turnaround (
    county_code TEXT    NOT NULL,
    month       TEXT    NOT NULL,  -- YYYY-MM
    center_id   INTEGER  NOT NULL,
    kind        TEXT    NOT NULL,
    bucket      INTEGER NOT NULL,
    n           INTEGER  NOT NULL,
    PRIMARY KEY (county_code, month, center_id, kind, bucket)
);
-- The records behind a turnaround: a center's reports (an institution's lab results) of a period.
CREATE INDEX reading_studies_center_reported ON reading_studies(county_code, center_id, kind, reported_at) WHERE status = 'reported';
CREATE INDEX lab_results_clinic_resulted ON lab_results(county_code, clinic_id, resulted_at);
INSERT INTO reading_turnaround (county_code, month, center_id, kind, bucket, n)
	SELECT county_code, mo, center_id, kind, CASE WHEN m < 60 THEN m WHEN m < 240 THEN 60 + (m - 60) / 5 WHEN m < 1440 THEN 96 + (m - 240) / 30
		WHEN m < 10080 THEN 136 + (m - 1440) / 240 ELSE 172 END, COUNT(*) FROM (
		SELECT county_code, strftime('%Y-%m', reported_at, '+8 hours') AS mo, center_id, kind, MAX(0, CAST(ROUND((julianday(reported_at) - julianday(uploaded_at)) * 86400000) AS INTEGER) / 60000) AS m
		FROM reading_studies WHERE status = 'reported' AND reported_at IS NOT NULL
		UNION ALL
		SELECT county_code, strftime('%Y-%m', resulted_at, '+8 hours'), clinic_id, 'lab', MAX(0, CAST(ROUND((julianday(resulted_at) - julianday(collected_at)) * 86400000) AS INTEGER) / 60000)
		FROM lab_results) x
	GROUP BY county_code, mo, center_id, kind, CASE WHEN m < 60 THEN m WHEN m < 240 THEN 60 + (m - 60) / 5 WHEN m < 1440 THEN 96 + (m - 240) / 30
		WHEN m < 10080 THEN 136 + (m - 1440) / 240 ELSE 172 END;
