-- Placeholder on branch online: keeps the migration numbers contiguous
-- until the lead renumbers at merge (other branches hold 0014–0018).
SELECT 1;
