-- Placeholder on branch rxstock: keeps the numbering contiguous up to 0018
-- (other branches own 0015); the lead drops or renumbers it at the merge.
SELECT 1;
