-- Reserved: migration 0007 belongs to another branch (consultations); this
-- placeholder keeps the numbering contiguous on the referral branch and is
-- dropped when the branches are merged and renumbered.
SELECT 1;
