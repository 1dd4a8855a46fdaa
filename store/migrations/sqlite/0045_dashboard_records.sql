-- The dashboard's drill-down to the records behind a chronic-care figure
-- (issue 14 §1): a village clinic's registrations with their visits of the
-- period, read by registration (store.ChronicPeriod with one clinic). Without
-- it the join scans every visit of the county for each page of patients.
CREATE INDEX chronic_visits_registration ON chronic_visits(registration_id, visit_date);
-- The dashboard's settlement group (药占比, 耗占比, the patients' share) joins
-- the kept dashboards: a period kept before it is kept again by the
-- dashboard figures duty's next run (kpi.KeptDue: not kept, so due), instead
-- of showing "no data" for the new indicators for ever.
DELETE FROM kpi_snapshots;
