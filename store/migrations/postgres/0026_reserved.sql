-- Reserved: migration number 26 belongs to another branch of this round
-- (issue 18); the integrator drops this placeholder when that one is merged.
SELECT 1;
