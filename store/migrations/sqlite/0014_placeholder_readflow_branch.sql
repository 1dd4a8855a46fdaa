-- Placeholder on branch readflow only, so the runner (which needs contiguous
-- numbers) reaches 0015_reading_workflow.sql. Another branch owns 0014:
-- delete this file at merge; it creates nothing.
SELECT 1;
