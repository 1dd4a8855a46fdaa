-- Reserved for another branch's migration 0026 (issue 13): replace this
-- file by that migration when the branches merge.
SELECT 1;
