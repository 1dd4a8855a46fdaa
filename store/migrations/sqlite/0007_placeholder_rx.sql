-- Placeholder on branch rx only: keeps migrations numbered 1, 2, … until the
-- merge, where 0007 is taken by another branch. Remove it at the merge.
SELECT 1;
