-- Placeholder on branch labs only, so the runner's contiguous numbering
-- holds while this branch's migration is 0017. DELETE this file at merge
-- (the other branches' 0014–0016 take its place).
SELECT 1;
