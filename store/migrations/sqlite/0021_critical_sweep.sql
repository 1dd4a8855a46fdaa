-- Signed critical findings are raised as alerts just after the report
-- commits; the reading scheduler sweeps recent critical reports that have
-- no alert yet (a crash in between), reading this index (issue #5).
CREATE INDEX reading_reports_critical ON reading_reports(signed_at) WHERE critical = 1;
